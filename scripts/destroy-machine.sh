#!/usr/bin/env bash
# Destroys every resource on one machine, and nothing on the others.
#
# Every resource on machine NAME descends from its Machine component, so targeting that
# component (children are included) with --target-dependents removes the machine alone.
# The next `pulumi up` recreates it unless the stack config says `enabled: false`.
set -euo pipefail
# shellcheck source=scripts/lib/machine-target.sh
. "$(dirname "$0")/lib/machine-target.sh"
# shellcheck source=scripts/lib/args.sh
. "$(dirname "$0")/lib/args.sh"
# shellcheck source=scripts/lib/confirm.sh
. "$(dirname "$0")/lib/confirm.sh"

usage() {
    cat <<'USAGE'
Usage: scripts/destroy-machine.sh NAME [--stack STACK] [--yes]

Destroys the containers, networks, volumes and Docker provider of machine NAME (and whatever
depends on them) with `pulumi destroy --target <NAME's Machine URN> --target-dependents`.
Database and Uptime Kuma data volumes are retained on the host (retainOnDelete).

  --stack STACK  the Pulumi stack (default: the selected stack)
  --yes          do not ask for confirmation

To keep the machine out of the next `pulumi up`, set
`ai-platform:machines.NAME.enabled: false` in the stack config instead (or as well).
USAGE
}

parse_name_stack_yes "$@"
machine="$name"

require_machine_name "$machine"
stack=$(stack_or_selected "$stack")
urn=$(machine_urn "$stack" "$machine")

echo "This destroys every resource of machine '${machine}' in stack '${stack}':"
echo "  ${urn}"
echo "and every resource that depends on it."
confirm_typed "$machine" "Type the machine name to confirm" "nothing was destroyed"

pulumi_cli destroy --stack "$stack" --target "$urn" --target-dependents --yes
