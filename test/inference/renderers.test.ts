import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { buildCatalog } from "../../components/catalog/catalog";
import { LiteLlmDeployment, renderLiteLlmConfig } from "../../components/litellm/config";
import { ollamaEnv, ollamaGpu } from "../../components/ollama/env";
import { liteLlmApiBase, openWebUiEnv, renderToolServerConnections, toolServerUrls } from "../../components/openwebui/env";
import { defaultImages } from "../../config/images";
import { PlatformConfig, validatePlatform } from "../../config/platform";
import { findService, place } from "../../machines/placement";
import { readStackConfig, StackConfig } from "../harness/program";

function validated(raw: StackConfig): PlatformConfig {
    const result = validatePlatform(raw);
    if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
    return result.config;
}

interface RenderedConfig {
    model_list: LiteLlmDeployment[];
    router_settings: Record<string, unknown>;
    litellm_settings: Record<string, unknown>;
    general_settings: Record<string, unknown>;
}

function rendered(config: PlatformConfig, gateway = "orpheus"): RenderedConfig {
    return parse(renderLiteLlmConfig({ placement: place(config), models: config.models, gateway, litellm: config.litellm, contextLength: config.ollama.contextLength, fallback: config.fallback })) as RenderedConfig;
}

/** model group -> the api_base of each of its deployments. */
function routes(config: RenderedConfig): Record<string, string[]> {
    const groups: Record<string, string[]> = {};
    for (const deployment of config.model_list) (groups[deployment.model_name] ??= []).push(deployment.litellm_params.api_base ?? "(none)");
    return groups;
}

const homelabRaw = readStackConfig("Pulumi.homelab.yaml");
/** The homelab stack with no model's kind declared. */
const undeclaredKinds: StackConfig = {
    ...homelabRaw,
    models: (homelabRaw.models as { kind?: string }[]).map(({ kind: _kind, ...model }) => model),
};
const homelab = validated(homelabRaw);

describe("the LiteLLM config of the homelab stack", () => {
    const config = rendered(homelab);

    test("each model group routes exactly to the nodes that hold the model, Ollama on the gateway by container name", () => {
        assert.deepEqual(routes(config), {
            "llama3.1:8b": ["http://orpheus-ollama:11434", "http://192.168.10.22:11434", "http://192.168.10.23:11434"],
            "qwen2.5-coder:14b": ["http://192.168.10.22:11434", "http://192.168.10.23:11434"],
            "nomic-embed-text": ["http://orpheus-ollama:11434"],
            "llama3.3:70b": ["http://192.168.10.24:11434"],
            "qwen2.5:72b": ["http://192.168.10.24:11434"],
        });
    });

    test("the large models run on hades only, and hades serves nothing else", () => {
        const onHades = config.model_list.filter((d) => d.litellm_params.api_base === "http://192.168.10.24:11434").map((d) => d.model_name);
        assert.deepEqual(onHades, ["llama3.3:70b", "qwen2.5:72b"]);
    });

    test("every chat model speaks Ollama's chat API for its own tag", () => {
        for (const deployment of config.model_list.filter((d) => d.model_name !== "nomic-embed-text")) {
            assert.deepEqual([deployment.litellm_params.model, deployment.model_info], [`ollama_chat/${deployment.model_name}`, undefined]);
        }
    });

    test("an embedding model is served through the ollama/ route, the one LiteLLM's embedding endpoint maps", () => {
        const embedding = config.model_list.filter((d) => d.model_name === "nomic-embed-text");
        assert.deepEqual(
            embedding.map((d) => [d.litellm_params.model, d.model_info]),
            [["ollama/nomic-embed-text", { mode: "embedding" }]],
        );
    });

    test("a model is a chat model unless declared an embedding model", () => {
        const undeclared = rendered(validated(undeclaredKinds)).model_list.filter((d) => d.model_name === "nomic-embed-text");
        assert.deepEqual(undeclared.map((d) => d.litellm_params.model), ["ollama_chat/nomic-embed-text"]);
    });

    test("routing takes a failing node out of rotation and retries elsewhere, from the defaults", () => {
        assert.deepEqual(config.router_settings, {
            routing_strategy: "simple-shuffle",
            enable_weighted_failover: true,
            num_retries: 2,
            timeout: 600,
            allowed_fails: 1,
            cooldown_time: 60,
        });
    });

    test("every chat deployment sends ollama.contextLength as num_ctx (default 8192); an embedding model keeps its own unless set", () => {
        assert.deepEqual(
            config.model_list.map((d) => [d.model_name, d.litellm_params.num_ctx]),
            [
                ["llama3.1:8b", 8192],
                ["llama3.1:8b", 8192],
                ["llama3.1:8b", 8192],
                ["qwen2.5-coder:14b", 8192],
                ["qwen2.5-coder:14b", 8192],
                ["nomic-embed-text", undefined],
                ["llama3.3:70b", 8192],
                ["qwen2.5:72b", 8192],
            ],
        );
        const models = (homelabRaw.models as { name: string }[]).map((model) =>
            model.name === "llama3.3:70b" || model.name === "nomic-embed-text" ? { ...model, contextLength: 2048 } : model,
        );
        const tuned = rendered(validated({ ...homelabRaw, models, ollama: { ...(homelabRaw.ollama as object), contextLength: 12288, numParallel: 2 } }));
        assert.deepEqual(
            [...new Map(tuned.model_list.map((d) => [d.model_name, d.litellm_params.num_ctx])).entries()],
            [
                ["llama3.1:8b", 12288],
                ["qwen2.5-coder:14b", 12288],
                ["nomic-embed-text", 2048],
                ["llama3.3:70b", 2048],
                ["qwen2.5:72b", 12288],
            ],
        );
    });

    test("secrets are read from the environment, never written in the file; metrics are on", () => {
        assert.deepEqual(config.general_settings, { master_key: "os.environ/LITELLM_MASTER_KEY", database_url: "os.environ/DATABASE_URL" });
        assert.deepEqual(config.litellm_settings.callbacks, ["prometheus"]);
    });

    test("a node that refuses connections is only routed around with health-check routing, which is opt-in", () => {
        assert.equal(config.general_settings.enable_health_check_routing, undefined, "each probe loads the model: off by default");
        const probed = rendered(validated({ ...homelabRaw, litellm: { healthCheckSeconds: 120 } }));
        assert.deepEqual(probed.general_settings, {
            master_key: "os.environ/LITELLM_MASTER_KEY",
            database_url: "os.environ/DATABASE_URL",
            background_health_checks: true,
            health_check_interval: 120,
            enable_health_check_routing: true,
            health_check_ignore_transient_errors: true,
        });
    });

    test("the litellm settings come from config", () => {
        const tuned = rendered(validated({ ...homelabRaw, litellm: { routingStrategy: "least-busy", numRetries: 5, timeoutSeconds: 30, allowedFails: 3, cooldownSeconds: 10 } }));
        assert.deepEqual(tuned.router_settings, { routing_strategy: "least-busy", num_retries: 5, timeout: 30, allowed_fails: 3, cooldown_time: 10 });
    });
});

describe("the LiteLLM config with an external fallback", () => {
    const config = rendered(
        validated({ ...homelabRaw, fallback: { model: "openai/gpt-4o-mini", apiBase: "https://api.example.com/v1", apiKey: "sk-not-in-the-file" } }),
    );

    test("adds the external model with its key from the environment", () => {
        const external = config.model_list.filter((d) => d.model_name === "openai/gpt-4o-mini");
        assert.deepEqual(external, [
            { model_name: "openai/gpt-4o-mini", litellm_params: { model: "openai/gpt-4o-mini", api_base: "https://api.example.com/v1", api_key: "os.environ/FALLBACK_API_KEY" } },
        ]);
    });

    test("every local chat model group falls back to it, no embedding model does", () => {
        assert.deepEqual(config.router_settings.fallbacks, [
            { "llama3.1:8b": ["openai/gpt-4o-mini"] },
            { "qwen2.5-coder:14b": ["openai/gpt-4o-mini"] },
            { "llama3.3:70b": ["openai/gpt-4o-mini"] },
            { "qwen2.5:72b": ["openai/gpt-4o-mini"] },
        ]);
    });

    test("without a fallback there is no fallback route", () => {
        assert.equal(rendered(homelab).router_settings.fallbacks, undefined);
    });
});

describe("Ollama's environment and GPU wiring", () => {
    const placement = place(homelab);
    const machine = (name: string) => {
        const found = placement.machines.find((m) => m.name === name);
        if (found === undefined) throw new Error(name);
        return found;
    };

    test("only the store's writer may prune; every other node sets OLLAMA_NOPRUNE", () => {
        const writers = placement.machines.filter((m) => m.roles.includes("inference") && ollamaEnv(m, homelab.ollama, 11434).OLLAMA_NOPRUNE === undefined);
        assert.deepEqual(writers.map((m) => m.name), ["orpheus"]);
        for (const name of ["kratos", "nyx", "hades"]) assert.equal(ollamaEnv(machine(name), homelab.ollama, 11434).OLLAMA_NOPRUNE, "1");
    });

    test("the tunables come from config, the store from the NAS mount", () => {
        const tuned = validated({ ...homelabRaw, ollama: { keepAlive: "-1", numParallel: 8, maxLoadedModels: 3, flashAttention: false, loadTimeout: "30m", contextLength: 4096 } });
        const env = ollamaEnv(machine("kratos"), tuned.ollama, 11434);
        assert.deepEqual(
            [env.OLLAMA_KEEP_ALIVE, env.OLLAMA_NUM_PARALLEL, env.OLLAMA_MAX_LOADED_MODELS, env.OLLAMA_FLASH_ATTENTION, env.OLLAMA_LOAD_TIMEOUT, env.OLLAMA_MODELS],
            ["-1", "8", "3", "0", "30m", "/models"],
        );
    });

    test("durations are refused unless Ollama can parse them (Go durations: no days), naming their config path", () => {
        const issues = (ollama: object) => {
            const result = validatePlatform({ ...homelabRaw, ollama });
            return result.ok ? [] : result.issues.map((issue) => issue.path);
        };
        assert.deepEqual(issues({ loadTimeout: "1d" }), ["ollama.loadTimeout"]);
        assert.deepEqual(issues({ keepAlive: "forever" }), ["ollama.keepAlive"]);
        assert.deepEqual(issues({ keepAlive: "2d" }), ["ollama.keepAlive"]);
        for (const keepAlive of ["-1", "300", "1h30m", "-1m", "0"]) assert.deepEqual(issues({ keepAlive, loadTimeout: "1h30m" }), [], keepAlive);
    });

    test("NVIDIA nodes request the GPUs; the AMD node gets the ROCm image, /dev/kfd, /dev/dri and the host's groups", () => {
        assert.deepEqual(ollamaGpu(machine("kratos"), homelab.images), { image: defaultImages.ollama, nvidiaGpus: true, devices: [], groupAdds: [] });
        assert.deepEqual(ollamaGpu(machine("hades"), homelab.images), {
            image: defaultImages.ollamaRocm,
            nvidiaGpus: false,
            devices: ["/dev/kfd", "/dev/dri"],
            groupAdds: ["110", "44"],
        });
    });

    test("HSA_OVERRIDE_GFX_VERSION is set on an AMD node only when configured", () => {
        assert.equal(ollamaEnv(machine("hades"), homelab.ollama, 11434).HSA_OVERRIDE_GFX_VERSION, undefined);
        const machines = homelabRaw.machines as Record<string, { gpu?: object }>;
        const overridden = validated({ ...homelabRaw, machines: { ...machines, hades: { ...machines.hades, gpu: { ...machines.hades.gpu, hsaOverrideGfxVersion: "11.0.0" } } } });
        const hades = place(overridden).machines.find((m) => m.name === "hades");
        assert.ok(hades);
        assert.equal(ollamaEnv(hades, overridden.ollama, 11434).HSA_OVERRIDE_GFX_VERSION, "11.0.0");
    });

    test("a CPU node asks for no GPU", () => {
        const local = validated(readStackConfig("Pulumi.local.yaml"));
        const cpu = place(local).machines[0];
        assert.deepEqual(ollamaGpu(cpu, local.images), { image: defaultImages.ollama, nvidiaGpus: false, devices: [], groupAdds: [] });
    });
});

describe("Open WebUI's connections", () => {
    const placement = place(homelab);
    const catalog = buildCatalog(placement, homelab.domain);

    test("LiteLLM by container name on the same machine, by LAN address from another", () => {
        const litellm = findService(placement, "litellm");
        assert.ok(litellm);
        assert.equal(liteLlmApiBase(litellm, "orpheus"), "http://orpheus-litellm:4000/v1");
        assert.equal(liteLlmApiBase(litellm, "kratos"), "http://192.168.10.21:4000/v1");
    });

    test("tool servers: the edge's plain-HTTP LAN entrypoint when there is an edge (no DNS, no certificate), else every replica", () => {
        assert.deepEqual(toolServerUrls(catalog, placement, "orpheus"), ["http://192.168.10.12:8001"]);
        const machines = homelabRaw.machines as Record<string, object>;
        const noEdge = validated({ ...homelabRaw, machines: { ...machines, hephaestus: { ...machines.hephaestus, enabled: false } } });
        const noEdgePlacement = place(noEdge);
        const noEdgeCatalog = buildCatalog(noEdgePlacement, noEdge.domain);
        assert.deepEqual(toolServerUrls(noEdgeCatalog, noEdgePlacement, "orpheus"), ["http://192.168.10.13:8000", "http://192.168.10.14:8000"]);
        assert.deepEqual(toolServerUrls(noEdgeCatalog, noEdgePlacement, "zelus"), ["http://192.168.10.13:8000", "http://zelus-mcpo:8000"]);
    });

    test("tool servers all on Open WebUI's machine (the local stack) are reached by container name, not the route", () => {
        const local = validated(readStackConfig("Pulumi.local.yaml"));
        const localPlacement = place(local);
        assert.deepEqual(toolServerUrls(buildCatalog(localPlacement, local.domain), localPlacement, "local"), ["http://local-mcpo:8000"]);
    });

    test("Open WebUI uses LiteLLM as its only model source and never skips TLS verification", () => {
        const env = openWebUiEnv({ liteLlmApiBase: "http://x:4000/v1", publicUrl: "https://chat.lab.internal" });
        assert.equal(env.ENABLE_OLLAMA_API, "false");
        assert.equal(env.OPENAI_API_BASE_URL, "http://x:4000/v1");
        assert.equal(env.AIOHTTP_CLIENT_SESSION_TOOL_SERVER_SSL, undefined);
    });

    test("each tool server connection is an OpenAPI server behind the bearer key", () => {
        assert.deepEqual(JSON.parse(renderToolServerConnections(["https://tools.lab.internal"], "k")), [
            { url: "https://tools.lab.internal", path: "openapi.json", auth_type: "bearer", key: "k", config: { enable: true } },
        ]);
    });
});
