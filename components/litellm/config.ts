import { stringify } from "yaml";
import { PlatformConfig } from "../../config/platform";
import { Placement, PlacedService } from "../../machines/placement";
import { ollamaContainerName } from "../ollama/env";

/** Environment variables the rendered config reads (`os.environ/...`); their values are secrets, never in the file. */
export const liteLlmEnv = {
    masterKey: "LITELLM_MASTER_KEY",
    databaseUrl: "DATABASE_URL",
    fallbackApiKey: "FALLBACK_API_KEY",
} as const;

export interface LiteLlmConfigInput {
    readonly placement: Placement;
    /** The machine LiteLLM runs on: Ollama there is reached over the Docker network, not the LAN. */
    readonly gateway: string;
    readonly litellm: PlatformConfig["litellm"];
    readonly fallback?: PlatformConfig["fallback"];
}

/** One deployment of a model group: a model on one node. */
export interface LiteLlmDeployment {
    readonly model_name: string;
    readonly litellm_params: { readonly model: string; readonly api_base?: string; readonly api_key?: string };
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

/** One deployment per (model, enabled node), in config order: a model group balances across the nodes that hold it. */
export function modelDeployments(placement: Placement, gateway: string): LiteLlmDeployment[] {
    return Object.entries(placement.modelNodes).flatMap(([model, nodes]) =>
        nodes
            .map((node) => placement.services.find((s) => s.service === "ollama" && s.machine === node))
            .filter((ollama): ollama is PlacedService => ollama !== undefined)
            .map((ollama) => ({ model_name: model, litellm_params: { model: `ollama_chat/${model}`, api_base: ollamaApiBase(ollama, gateway) } })),
    );
}

/** LiteLLM's config.yaml, from placement and config. Pure. */
export function renderLiteLlmConfig(input: LiteLlmConfigInput): string {
    const local = modelDeployments(input.placement, input.gateway);
    const groups = [...new Set(local.map((deployment) => deployment.model_name))];
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
            num_retries: settings.numRetries,
            timeout: settings.timeoutSeconds,
            // Without these a dead node stays in rotation and is retried on every request.
            allowed_fails: settings.allowedFails,
            cooldown_time: settings.cooldownSeconds,
            ...(fallback === undefined ? {} : { fallbacks: groups.map((group) => ({ [group]: [fallback.model] })) }),
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
        },
    });
}
