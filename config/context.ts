/**
 * Context windows: how many tokens Ollama keeps per request (`num_ctx`), and what that costs
 * in memory. Ollama's own default is 4096 tokens and nothing in front of it (Open WebUI,
 * LiteLLM) sends `num_ctx`, so a longer prompt (document search, tool output, a long chat)
 * would be cut without a word: the gateway sends the configured length with every request.
 */

/** The context length of a chat model when neither the model nor `ollama.contextLength` sets one. */
export const defaultContextLength = 8192;

export interface ContextModel {
    readonly kind: "chat" | "embedding";
    readonly sizeGb: number;
    readonly contextLength?: number;
}

/**
 * The `num_ctx` the gateway sends for a model: its own `contextLength`, else (chat models)
 * `ollama.contextLength`. An embedding model without one is left at its own trained length
 * (nomic-embed-text: 2048), which Ollama would cap a larger value to anyway.
 */
export function contextLength(model: ContextModel, ollamaDefault: number): number | undefined {
    if (model.contextLength !== undefined) return model.contextLength;
    return model.kind === "embedding" ? undefined : ollamaDefault;
}

/**
 * KV-cache bytes per token, estimated from the model's size on disk. For the GQA models
 * Ollama serves (8 KV heads x 128 dimensions, f16 cache), the cache costs 4 KiB per layer
 * per token: llama3.1:8b (32 layers, 5 GB) 128 KiB, qwen2.5-coder:14b (48 layers, 9 GB)
 * 192 KiB, llama3.3:70b and qwen2.5:72b (80 layers, 43-47 GB) 320 KiB. 64 KiB + 15 KiB per
 * GB of weights meets or exceeds each of these (139, 199, 709, 769 KiB): close for the
 * small models, about twice the truth for the large ones (whose room is checked loosely).
 */
export function kvCacheBytesPerToken(sizeGb: number): number {
    return (64 + 15 * sizeGb) * 1024;
}

/**
 * The memory (GB, 2^30 bytes) the KV cache of one loaded model takes: Ollama allocates
 * `num_ctx` tokens for each of its OLLAMA_NUM_PARALLEL slots.
 */
export function kvCacheGb(sizeGb: number, tokens: number, numParallel: number): number {
    return (kvCacheBytesPerToken(sizeGb) * tokens * numParallel) / 2 ** 30;
}
