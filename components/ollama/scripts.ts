import { modelStorePath } from "./env";

/**
 * Shell run on an inference machine (over SSH, or locally for a unix:// Docker host) to
 * manage the shared model store through that machine's Ollama container. POSIX sh on the
 * host; values are inlined because sshd drops client environment variables by default.
 */

/** The file in the store listing the configured models; a removal only happens when a model is absent from it. */
export const modelListPath = `${modelStorePath}/.ai-platform-models`;

export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

function prelude(container: string, model?: string): string {
    return [`container=${shellQuote(container)}`, ...(model === undefined ? [] : [`model=${shellQuote(model)}`])].join("\n");
}

/** Ollama answers a few seconds after its container starts (longer on a first NFS mount). */
const waitForOllama = `tries=0
until docker exec "$container" ollama list >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 90 ]; then
    echo "Ollama in $container is not answering" >&2
    exit 1
  fi
  sleep 2
done`;

/** Pulls a model into the store unless it is there already, so a re-run needs no registry access. */
export function pullScript(container: string, model: string): string {
    return `set -eu
${prelude(container, model)}
${waitForOllama}
if docker exec "$container" ollama show "$model" >/dev/null 2>&1; then
  echo "$model is already in the model store"
  exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! docker exec "$container" ollama pull "$model" >"$log" 2>&1; then
  echo "pulling $model failed:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
echo "pulled $model into the model store"
`;
}

/**
 * Loads a model once on a node (bash inside the container: the Ollama image has no HTTP
 * client). `/api/generate` without a prompt loads a model; an embedding-only model refuses
 * it, so it is loaded through `/api/embed` instead. Arguments: model, port, and the context
 * length LiteLLM will ask for (empty: Ollama's default): loaded with another num_ctx, the
 * model would be loaded again by the first real request.
 */
export const warmBody = `set -euo pipefail
model=$1
port=$2
num_ctx=\${3:-}
options=""
if [ -n "$num_ctx" ]; then options=",\\"options\\":{\\"num_ctx\\":$num_ctx}"; fi
host=\${OLLAMA_WARM_HOST:-127.0.0.1}
post() {
  local body="{\\"model\\":\\"$model\\"$2}" status
  exec 3<>"/dev/tcp/$host/$port"
  printf 'POST %s HTTP/1.0\\r\\nHost: %s\\r\\nContent-Type: application/json\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "$1" "$host" "\${#body}" "$body" >&3
  read -r _ status _ <&3 || status=000
  cat <&3 >/dev/null
  exec 3<&-
  echo "$status"
}
if [ "$(post /api/generate "$options")" = 200 ]; then
  echo "$model is loaded"
elif [ "$(post /api/embed ",\\"input\\":\\"warm-up\\"$options")" = 200 ]; then
  echo "$model (an embedding model) is loaded"
else
  echo "$model did not load: see the log of the Ollama container" >&2
  exit 1
fi
`;

/** Loads a model on a node at the context length it will serve, which proves the node sees it and can hold it. */
export function warmScript(container: string, model: string, port: number, numCtx?: number): string {
    return `set -eu
${prelude(container, model)}
${waitForOllama}
docker exec -i "$container" bash -s "$model" ${port}${numCtx === undefined ? "" : ` ${numCtx}`} <<'WARM'
${warmBody}WARM
`;
}

/** Writes the configured model list into the store (atomically), before any pull or removal reads it. */
export function modelListScript(container: string, models: readonly string[]): string {
    const lines = models.length === 0 ? "" : `${models.join("\n")}\n`;
    return `set -eu
${prelude(container)}
${waitForOllama}
docker exec -i "$container" sh -c 'cat > ${modelListPath}.tmp && mv ${modelListPath}.tmp ${modelListPath}' <<'MODELS'
${lines}MODELS
echo "the model store lists ${models.length} model(s)"
`;
}

/**
 * Removes a model from the store when it has left the config. It also runs when a pull is
 * replaced (its node's container changed, or another machine became the writer), so it
 * keeps every model still listed, and it never fails: a dead host or container leaves the
 * model in place.
 */
export function removeScript(container: string, model: string): string {
    return `set -u
${prelude(container, model)}
if ! wanted=$(docker exec "$container" cat ${modelListPath} 2>/dev/null); then
  echo "the model store is not reachable through $container: $model is left in place"
  exit 0
fi
if printf '%s\\n' "$wanted" | grep -Fqx -- "$model"; then
  echo "$model is still configured: kept in the model store"
  exit 0
fi
if docker exec "$container" ollama rm "$model"; then
  echo "removed $model from the model store"
else
  echo "could not remove $model (it may be gone already)"
fi
exit 0
`;
}
