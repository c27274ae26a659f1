#!/usr/bin/env bash
# Deploys one machine, and what it needs from the rest of the stack, with a targeted `pulumi up`.
#
# Targets: the stack itself (needed on a first deployment), the platform's generated secrets,
# machine NAME's Machine component and every resource below it (all are named NAME-...).
# Resources NAME needs on other machines must exist already: deploy in the seed's order.
set -euo pipefail

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

if [ -z "$machine" ]; then
    usage >&2
    exit 2
fi
if ! printf '%s' "$machine" | grep -Eq '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'; then
    echo "error: '$machine' is not a machine name (a DNS label)" >&2
    exit 2
fi

pulumi=${PULUMI:-npx --no-install pulumi}
if [ -z "$stack" ]; then
    stack=$($pulumi stack --show-name)
fi
project=ai-platform
prefix="urn:pulumi:${stack}::${project}::"
# In a target, * matches within one URN part and ** matches anything.
targets=(
    --target "${prefix}pulumi:pulumi:Stack::${project}-${stack}"
    --target "${prefix}ai-platform:secrets:PlatformSecrets::platform"
    --target "${prefix}ai-platform:secrets:PlatformSecrets\$**"
    --target "${prefix}ai-platform:machines:Machine::${machine}"
    --target "${prefix}ai-platform:machines:Machine\$**::${machine}-*"
)

if [ "$mode" = preview ]; then
    exec $pulumi preview --stack "$stack" "${targets[@]}"
fi
if [ "$assume_yes" = true ]; then
    exec $pulumi up --stack "$stack" "${targets[@]}" --yes
fi
exec $pulumi up --stack "$stack" "${targets[@]}"
