import { stringify } from "yaml";
import { contextLength } from "../../config/context";
import { PlatformConfig } from "../../config/platform";
import { ModelConfig } from "../../config/schema";
import { Placement, PlacedService } from "../../machines/placement";
import { ollamaContainerName } from "../ollama/env";

/** Environment variables the rendered config reads (`os.environ/...`); their values are secrets, never in the file. */
export const liteLlmEnv = {
    masterKey: "LITELLM_MASTER_KEY",
    databaseUrl: "DATABASE_URL",
    fallbackApiKey: "FALLBACK_API_KEY",
} as const;

/**
 * The plain environment of the LiteLLM container (the secret values, named in `liteLlmEnv`
 * and LITELLM_SALT_KEY, are added by the component). Pure: the gateway tests start the real
 * proxy with exactly these.
 */
export function liteLlmPlainEnv(): Record<string, string> {
    return {
        // Offline start: the bundled model price map instead of a download.
        LITELLM_LOCAL_MODEL_COST_MAP: "True",
        LITELLM_LOG: "INFO",
    };
}

export interface LiteLlmConfigInput {
    readonly placement: Placement;
    /** The configured models: their kind decides how LiteLLM calls them. */
    readonly models: PlatformConfig["models"];
    /** The machine LiteLLM runs on: Ollama there is reached over the Docker network, not the LAN. */
    readonly gateway: string;
    readonly litellm: PlatformConfig["litellm"];
    /** The default context length of chat models (`ollama.contextLength`). */
    readonly contextLength: number;
    readonly fallback?: PlatformConfig["fallback"];
}

/** One deployment of a model group: a model on one node. */
export interface LiteLlmDeployment {
    readonly model_name: string;
    readonly litellm_params: {
        readonly model: string;
        readonly api_base?: string;
        readonly api_key?: string;
        /** Ollama's context window for this model, sent as options.num_ctx with every request. */
        readonly num_ctx?: number;
    };
    readonly model_info?: { readonly mode: "embedding" };
}

/**
 * How LiteLLM calls a model on Ollama: a chat model through Ollama's chat API (`ollama_chat/`),
 * an embedding model through `ollama/`, the only Ollama prefix LiteLLM's embedding endpoint
 * maps (with `ollama_chat/` it answers "Unmapped LLM provider for this endpoint").
 */
export function ollamaModel(model: ModelConfig): Pick<LiteLlmDeployment, "model_info"> & { readonly model: string } {
    return model.kind === "embedding" ? { model: `ollama/${model.name}`, model_info: { mode: "embedding" } } : { model: `ollama_chat/${model.name}` };
}

/**
 * How the gateway reaches a node's Ollama: its published LAN port, or, on the gateway's own
 * machine, the container by name (a LAN address of 127.0.0.1, as on the local stack, would
 * point the LiteLLM container at itself).
 */
export function ollamaApiBase(ollama: PlacedService, gateway: string): string {
    if (ollama.machine === gateway) return `http://${ollamaContainerName(ollama.machine)}:${ollama.port?.internal ?? 11434}`;
    return `http://${ollama.address}:${ollama.port?.external ?? 11434}`;
}

/**
 * One deployment per (model, enabled node), in config order: a model group balances across the
 * nodes that hold it. Each carries the model's context length (`num_ctx`, see config/context.ts).
 */
export function modelDeployments(placement: Placement, models: PlatformConfig["models"], gateway: string, defaultContextLength: number): LiteLlmDeployment[] {
    return models.flatMap((model) => {
        const { model: route, model_info } = ollamaModel(model);
        const numCtx = contextLength(model, defaultContextLength);
        return (placement.modelNodes[model.name] ?? [])
            .map((node) => placement.services.find((s) => s.service === "ollama" && s.machine === node))
            .filter((ollama): ollama is PlacedService => ollama !== undefined)
            .map((ollama) => ({
                model_name: model.name,
                litellm_params: { model: route, api_base: ollamaApiBase(ollama, gateway), ...(numCtx === undefined ? {} : { num_ctx: numCtx }) },
                ...(model_info === undefined ? {} : { model_info }),
            }));
    });
}

/** LiteLLM's config.yaml, from placement and config. Pure. */
export function renderLiteLlmConfig(input: LiteLlmConfigInput): string {
    const local = modelDeployments(input.placement, input.models, input.gateway, input.contextLength);
    // A chat model is no substitute for an embedding model (and vectors from another model do not match stored ones).
    const groups = [...new Set(local.filter((deployment) => deployment.model_info === undefined).map((deployment) => deployment.model_name))];
    const fallback = input.fallback;
    const external: LiteLlmDeployment[] =
        fallback === undefined
            ? []
            : [
                  {
                      model_name: fallback.model,
                      litellm_params: {
                          model: fallback.model,
                          ...(fallback.apiBase === undefined ? {} : { api_base: fallback.apiBase }),
                          api_key: `os.environ/${liteLlmEnv.fallbackApiKey}`,
                      },
                  },
              ];
    const settings = input.litellm;
    return stringify({
        model_list: [...local, ...external],
        router_settings: {
            routing_strategy: settings.routingStrategy,
            // After a node fails (and its retries), re-pick among the group's other nodes, excluding those
            // that failed, before any external fallback: without it a retry may land on the same dead node
            // (a refused connection is never cooled down, BerriAI/litellm#27362). simple-shuffle only.
            ...(settings.routingStrategy === "simple-shuffle" ? { enable_weighted_failover: true } : {}),
            num_retries: settings.numRetries,
            timeout: settings.timeoutSeconds,
            // Failures (5xx, timeouts, 404) before a node is cooled down; connection errors are not counted (see general_settings).
            allowed_fails: settings.allowedFails,
            cooldown_time: settings.cooldownSeconds,
            ...(fallback === undefined || groups.length === 0 ? {} : { fallbacks: groups.map((group) => ({ [group]: [fallback.model] })) }),
        },
        litellm_settings: {
            callbacks: ["prometheus"],
            // Since v1.85 /metrics asks for a key by default; Prometheus scrapes it like every exporter, on the LAN port.
            require_auth_for_metrics_endpoint: false,
            // Ollama rejects some OpenAI parameters that chat clients send.
            drop_params: true,
        },
        general_settings: {
            master_key: `os.environ/${liteLlmEnv.masterKey}`,
            database_url: `os.environ/${liteLlmEnv.databaseUrl}`,
            // A node that refuses connections raises APIConnectionError, which LiteLLM never cools down
            // (BerriAI/litellm#27362): only a background probe takes such a node out of rotation.
            ...(settings.healthCheckSeconds === undefined
                ? {}
                : {
                      background_health_checks: true,
                      health_check_interval: settings.healthCheckSeconds,
                      enable_health_check_routing: true,
                      health_check_ignore_transient_errors: true,
                  }),
        },
    });
}
