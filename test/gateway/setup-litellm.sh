#!/usr/bin/env bash
# Creates .venv-litellm/ (gitignored) with the LiteLLM proxy that the gateway tests run:
# the PyPI release of the pinned litellm-database image, pinned in requirements.txt beside
# this script. Re-running it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.venv-litellm
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r test/gateway/requirements.txt
# The bundled model price map, as in the container: no download.
LITELLM_LOCAL_MODEL_COST_MAP=True "$venv/bin/python" -c "import litellm.proxy.proxy_server"
