# shellcheck shell=bash
# Shared by the scripts that act on one machine's resources (sourced, not run).
# Every resource on machine NAME descends from its Machine component and is named NAME-...

project=ai-platform

# The Pulumi CLI: the pinned devDependency, or $PULUMI (tests put a stand-in there).
pulumi_cli() {
    # shellcheck disable=SC2086 # $PULUMI may hold a command with arguments
    ${PULUMI:-npx --no-install pulumi} "$@"
}

# Exits with usage when NAME is missing or is not a machine name (a DNS label).
require_machine_name() {
    local name="$1"
    if [ -z "$name" ]; then
        usage >&2
        exit 2
    fi
    if ! printf '%s' "$name" | grep -Eq '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'; then
        echo "error: '$name' is not a machine name (a DNS label)" >&2
        exit 2
    fi
}

# The given stack, or the selected one.
stack_or_selected() {
    if [ -n "$1" ]; then
        printf '%s\n' "$1"
    else
        pulumi_cli stack --show-name
    fi
}

# The URN of machine NAME's Machine component in STACK.
machine_urn() {
    printf 'urn:pulumi:%s::%s::ai-platform:machines:Machine::%s\n' "$1" "$project" "$2"
}
