import { Catalog, CatalogEntry } from "../catalog/catalog";
import { serviceKinds } from "../../machines/services";
import { findService, Placement, PlacedService } from "../../machines/placement";

/** The edge (Traefik) routes `<subdomain>.<domain>`; without one, services are reached on their LAN ports. */
export function hasEdge(placement: Placement): boolean {
    return placement.services.some((service) => service.service === "traefik");
}

/** LiteLLM's OpenAI API as Open WebUI reaches it: by container name on the same machine, else its LAN port. */
export function liteLlmApiBase(litellm: PlacedService, webuiMachine: string): string {
    if (litellm.machine === webuiMachine) return `http://${litellm.machine}-litellm:${litellm.port?.internal ?? 4000}/v1`;
    return `http://${litellm.address}:${litellm.port?.external ?? 4000}/v1`;
}

/**
 * The tool servers Open WebUI is given: the edge's plain-HTTP LAN entrypoint for them when there
 * is an edge (load-balanced and health-checked by Traefik, and needing neither the lab's DNS nor
 * trust in the edge's certificate), else every replica. A replica on Open WebUI's own machine is
 * reached by container name, and when every replica is there (the local stack) the edge is not
 * used: inside a container, a 127.0.0.1 LAN address points at the container itself.
 */
export function toolServerUrls(catalog: Catalog, placement: Placement, webuiMachine: string): string[] {
    const replicas = catalog.entries.filter((entry) => entry.service === "mcpo");
    const byName = (entry: CatalogEntry) => `http://${entry.machine}-mcpo:${serviceKinds.mcpo.port.internal}`;
    const reach = (entry: CatalogEntry) => (entry.machine === webuiMachine ? byName(entry) : entry.url);
    if (replicas.length === 0 || replicas.every((entry) => entry.machine === webuiMachine)) return replicas.map(byName);
    const traefik = findService(placement, "traefik");
    const entrypoint = serviceKinds.mcpo.route.lanEntrypoint;
    const lanPort = traefik?.extraPorts[entrypoint]?.external;
    if (traefik !== undefined && lanPort !== undefined) return [`http://${traefik.address}:${lanPort}`];
    return replicas.map(reach);
}

/** TOOL_SERVER_CONNECTIONS: a JSON array of OpenAPI tool servers, each behind the tools API key. */
export function renderToolServerConnections(urls: readonly string[], apiKey: string): string {
    return JSON.stringify(urls.map((url) => ({ url, path: "openapi.json", auth_type: "bearer", key: apiKey, config: { enable: true } })));
}

/**
 * Open WebUI's plain settings: LiteLLM as its only model source, no Ollama connection, no
 * calls home.
 *
 * The stack config is the source of truth: ENABLE_PERSISTENT_CONFIG=false makes every
 * `PersistentConfig` setting (the OpenAI connection and its key, TOOL_SERVER_CONNECTIONS,
 * sign-up, ...) take its environment value at each start (Open WebUI v0.6.34,
 * backend/open_webui/config.py: the stored value is used only while persistent config is on).
 * Without it, the values stored at first start (or by an admin's save) win over the
 * environment for good, and a rotated LiteLLM master key or tools key breaks chat and tools
 * with 401s. The cost: what an admin saves in the Admin Panel holds only until the container
 * restarts.
 *
 * Sign-up is therefore fixed by env too: closed (ENABLE_SIGNUP=false), except for the very
 * first account on an empty database (ENABLE_INITIAL_ADMIN_SIGNUP=true), which becomes the
 * admin; accounts the admin creates, or approves, start `pending`.
 */
export function openWebUiEnv(input: {
    readonly liteLlmApiBase: string;
    readonly publicUrl: string;
}): Record<string, string> {
    return {
        OPENAI_API_BASE_URL: input.liteLlmApiBase,
        ENABLE_OLLAMA_API: "false",
        WEBUI_URL: input.publicUrl,
        ENABLE_PERSISTENT_CONFIG: "false",
        ENABLE_SIGNUP: "false",
        ENABLE_INITIAL_ADMIN_SIGNUP: "true",
        DEFAULT_USER_ROLE: "pending",
        OFFLINE_MODE: "true",
        ENABLE_VERSION_UPDATE_CHECK: "false",
        ENABLE_COMMUNITY_SHARING: "false",
        ANONYMIZED_TELEMETRY: "false",
        SCARF_NO_ANALYTICS: "true",
        DO_NOT_TRACK: "true",
    };
}
