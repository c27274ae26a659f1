#!/usr/bin/env bash
# Rotates one generated secret: a new value from its RandomPassword, given to every container that
# uses it in the same `pulumi up` (docs/operations.md: "Rotating a secret" says how each takes effect).
set -euo pipefail
# shellcheck source=scripts/lib/machine-target.sh
. "$(dirname "$0")/lib/machine-target.sh"
# shellcheck source=scripts/lib/args.sh
. "$(dirname "$0")/lib/args.sh"
# shellcheck source=scripts/lib/confirm.sh
. "$(dirname "$0")/lib/confirm.sh"

# components/secrets/secrets.ts: generatedSecretNames (a test keeps the two lists equal).
secrets=(
    postgres-superuser postgres-replication postgres-litellm postgres-openwebui postgres-grafana postgres-exporter
    litellm-master-key litellm-salt-key webui-secret-key grafana-admin edge-admin tools-api-key
)

usage() {
    cat <<'USAGE'
Usage: scripts/rotate-secret.sh NAME [--stack STACK] [--yes]

Replaces the generated secret NAME (its RandomPassword `platform-NAME`) and applies the whole stack
with `pulumi up --replace <its URN>`, so every container that uses it gets the new value in the same
run: PostgreSQL sets role passwords from their files on start, Grafana resets its admin password on
start, the other services read theirs at start.

NAME: postgres-superuser postgres-replication postgres-litellm postgres-openwebui postgres-grafana
      postgres-exporter litellm-master-key webui-secret-key grafana-admin edge-admin tools-api-key
      (litellm-salt-key is refused: LiteLLM could not decrypt what it stored with the old one)

  --stack STACK  the Pulumi stack (default: the selected stack)
  --yes          do not ask for confirmation
USAGE
}

parse_name_stack_yes "$@"

[ -n "$name" ] || { usage >&2; exit 2; }
known=false
for secret in "${secrets[@]}"; do [ "$secret" = "$name" ] && known=true; done
if [ "$known" != true ]; then
    echo "error: '$name' is not a generated secret (scripts/rotate-secret.sh --help lists them)" >&2
    exit 2
fi
if [ "$name" = litellm-salt-key ]; then
    echo "error: litellm-salt-key cannot be rotated: LiteLLM encrypts stored credentials with it and could not read them back" >&2
    exit 2
fi

stack=$(stack_or_selected "$stack")
urn="urn:pulumi:${stack}::${project}::ai-platform:secrets:PlatformSecrets\$random:index/randomPassword:RandomPassword::platform-${name}"

echo "This generates a new value for '${name}' in stack '${stack}':"
echo "  ${urn}"
echo "and runs pulumi up, which replaces every container that uses it."
case "$name" in
    webui-secret-key) echo "Everyone is signed out of Open WebUI." ;;
    postgres-*) echo "The PostgreSQL primary restarts (a few seconds without the database); so do the containers that use the password." ;;
esac
confirm_typed "$name" "Type the secret name to confirm" "nothing was changed"

pulumi_cli up --stack "$stack" --replace "$urn" --yes
