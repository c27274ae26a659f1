# shellcheck shell=bash
# Shared by the scripts that change or destroy something (sourced, not run).

# Unless assume_yes is true, asks the user to type EXPECTED; anything else (or no input) aborts
# with ABORT_MESSAGE and exit 1.
confirm_typed() {
    local expected="$1" prompt="$2" abort_message="$3" answer=""
    [ "${assume_yes:-false}" = true ] && return 0
    printf '%s: ' "$prompt"
    read -r answer || true
    if [ "$answer" != "$expected" ]; then
        echo "aborted: ${abort_message}" >&2
        exit 1
    fi
}
