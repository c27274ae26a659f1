#!/usr/bin/env bash
# Deploys one machine, and what it needs from the rest of the stack, with a targeted `pulumi up`.
#
# Targets: the stack itself (needed on a first deployment), the platform's generated secrets,
# machine NAME's Machine component and every resource below it (all are named NAME-...).
# Resources NAME needs on other machines must exist already: deploy in the seed's order.
set -euo pipefail
# shellcheck source=scripts/lib/machine-target.sh
. "$(dirname "$0")/lib/machine-target.sh"

usage() {
    cat <<'USAGE'
Usage: scripts/up-machine.sh NAME [--stack STACK] [--preview] [--yes]

Deploys machine NAME with `pulumi up --target ...`: its Docker provider, preflight check,
networks, volumes, host agents and services, plus the platform's generated secrets.
Nothing on the other machines changes.

  --stack STACK  the Pulumi stack (default: the selected stack)
  --preview      only show what would change (pulumi preview with the same targets)
  --yes          do not ask before applying

Deploy a new lab one machine at a time, in the seed's order:
  erebus hephaestus thanatos zelus orpheus kratos nyx hades moros local
A machine whose services need a resource on a machine not deployed yet stops with
"depends on '...' which was was not specified in --target list": deploy that machine first.
USAGE
}

machine=""
stack=""
mode=up
assume_yes=false
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --yes|-y) assume_yes=true ;;
        --preview) mode=preview ;;
        --stack) [ $# -ge 2 ] || { usage >&2; exit 2; }; stack="$2"; shift ;;
        -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
        *) [ -z "$machine" ] || { usage >&2; exit 2; }; machine="$1" ;;
    esac
    shift
done

require_machine_name "$machine"
stack=$(stack_or_selected "$stack")
prefix="urn:pulumi:${stack}::${project}::"
# In a target, * matches within one URN part and ** matches anything.
targets=(
    --target "${prefix}pulumi:pulumi:Stack::${project}-${stack}"
    --target "${prefix}ai-platform:secrets:PlatformSecrets::platform"
    --target "${prefix}ai-platform:secrets:PlatformSecrets\$**"
    --target "$(machine_urn "$stack" "$machine")"
    --target "${prefix}ai-platform:machines:Machine\$**::${machine}-*"
)

if [ "$mode" = preview ]; then
    pulumi_cli preview --stack "$stack" "${targets[@]}"
elif [ "$assume_yes" = true ]; then
    pulumi_cli up --stack "$stack" "${targets[@]}" --yes
else
    pulumi_cli up --stack "$stack" "${targets[@]}"
fi
