# shellcheck shell=bash
# shellcheck disable=SC2034 # name, stack and assume_yes are for the script that sources this
# Shared by the scripts whose arguments are one NAME, --stack STACK and --yes (sourced, not run).

# Parses "$@" into `name`, `stack` and `assume_yes`. -h prints the script's usage() and exits 0;
# an unknown option or a second NAME prints it to stderr and exits 2.
parse_name_stack_yes() {
    name=""
    stack=""
    assume_yes=false
    while [ $# -gt 0 ]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --yes|-y) assume_yes=true ;;
            --stack) [ $# -ge 2 ] || { usage >&2; exit 2; }; stack="$2"; shift ;;
            -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
            *) [ -z "$name" ] || { usage >&2; exit 2; }; name="$1" ;;
        esac
        shift
    done
}
