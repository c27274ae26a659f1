# shellcheck shell=bash
# Shared by the scripts that act on a platform container of one machine (sourced, not run).
# The caller sets docker_host (from -H, else $DOCKER_HOST; empty for the local daemon).

# docker against the chosen daemon.
docker_cli() {
    if [ -n "${docker_host:-}" ]; then
        docker -H "$docker_host" "$@"
    else
        docker "$@"
    fi
}

# The one running container labelled ai-platform.service=SERVICE, or exit 1 saying what was found.
service_container() {
    local service="$1" found
    found=$(docker_cli ps --filter "label=ai-platform.service=${service}" --format '{{.Names}}')
    if [ -z "$found" ] || [ "$(printf '%s\n' "$found" | wc -l)" -ne 1 ]; then
        echo "error: expected one running ${service} container on ${docker_host:-the local Docker daemon}, found: ${found:-none}" >&2
        exit 1
    fi
    printf '%s\n' "$found"
}
