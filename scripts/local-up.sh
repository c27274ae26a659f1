#!/usr/bin/env bash
# Deploys the single-host `local` stack (Pulumi.local.yaml) to this machine's Docker daemon:
# the whole platform on one machine, CPU inference, one tiny model, ports on 127.0.0.1.
# State goes to the local file backend (~/.pulumi) unless you are already logged in elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

pulumi=(npx --no-install pulumi)
if ! docker info >/dev/null 2>&1; then
    echo "error: no Docker daemon answers on this machine (is Docker running, and may this user use it?)" >&2
    exit 1
fi
if ! "${pulumi[@]}" whoami >/dev/null 2>&1; then
    "${pulumi[@]}" login --local
fi
# The passphrase encrypts this stack's secrets; an empty one is accepted for a local try-out.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
"${pulumi[@]}" stack select local --create --secrets-provider passphrase
"${pulumi[@]}" up --stack local "$@"
