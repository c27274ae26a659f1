import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { LiteLlmDeployment } from "../../components/litellm/config";
import { defaultImages } from "../../config/images";
import { generatedSecretMarker, ofType, plainStrings, ProgramRun, readStackConfig, RegisteredResource, runProgram, StackConfig, types } from "../harness/program";

const localCommand = "command:local:Command";
const homelabRaw = readStackConfig("Pulumi.homelab.yaml");
const homelabMachines = homelabRaw.machines as Record<string, Record<string, unknown>>;
const homelabModels = homelabRaw.models as { name: string; sizeGb: number; nodes: string[]; kind?: string }[];

async function runOk(config: StackConfig, secretKeys: string[] = []): Promise<ProgramRun> {
    const run = await runProgram(config, { secretKeys });
    assert.equal(run.error, undefined, run.error?.message);
    return run;
}

function resource(run: ProgramRun, type: string, name: string): RegisteredResource {
    const found = run.resources.find((r) => r.type === type && r.name === name);
    assert.ok(found, `no ${type} named ${name}`);
    return found;
}

const container = (run: ProgramRun, name: string) => resource(run, types.container, name);
const imageId = (run: ProgramRun, machine: string, ref: string) => {
    const image = ofType(run, types.image).find((i) => i.parent === machine && i.inputs.name === ref);
    assert.ok(image, `${ref} is not pulled on ${machine}`);
    return `sha256:${Buffer.from(ref).toString("hex").padEnd(64, "0").slice(0, 64)}`;
};

/**
 * A container's environment, and whether the engine receives it as a secret: a secret value
 * makes the whole `envs` list secret, which is what keeps it out of plain state.
 */
function environment(c: RegisteredResource): { vars: Record<string, string>; secret: boolean } {
    const vars = Object.fromEntries(((c.inputs.envs as string[]) ?? []).map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
    return { vars, secret: plainStrings(c.rawInputs.envs).length === 0 && Object.keys(vars).length > 0 };
}

function liteLlmConfig(run: ProgramRun, machine: string): { model_list: LiteLlmDeployment[]; router_settings: Record<string, unknown> } {
    const uploads = container(run, `${machine}-litellm`).inputs.uploads as { file: string; content: string }[];
    const file = uploads.find((u) => u.file === "/app/config.yaml");
    assert.ok(file, "LiteLLM gets its config file");
    return parse(file.content) as { model_list: LiteLlmDeployment[]; router_settings: Record<string, unknown> };
}

const routesOf = (run: ProgramRun, machine = "orpheus") => {
    const groups: Record<string, string[]> = {};
    for (const d of liteLlmConfig(run, machine).model_list) (groups[d.model_name] ??= []).push(d.litellm_params.api_base ?? "");
    return groups;
};

const commandsOf = (run: ProgramRun, type: string = types.command) => ofType(run, type).filter((c) => /-inference-(pull|warm|model-list)/.test(c.name));

describe("the inference tier of the homelab stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runOk(homelabRaw);
    });

    test("runs Ollama on every inference machine, under that machine's Ollama component", () => {
        const ollamas = ofType(run, types.container).filter((c) => c.name.endsWith("-ollama"));
        assert.deepEqual(ollamas.map((c) => c.name).sort(), ["hades-ollama", "kratos-ollama", "nyx-ollama", "orpheus-ollama"]);
        for (const c of ollamas) {
            const machine = c.name.replace(/-ollama$/, "");
            assert.equal(c.parent, `${machine}-inference`);
            assert.equal(resource(run, "ai-platform:ollama:Ollama", `${machine}-inference`).parent, machine);
            assert.deepEqual(c.inputs.ports, [{ internal: 11434, external: 11434, ip: homelabMachines[machine].address, protocol: "tcp" }]);
            assert.deepEqual(c.inputs.volumes, [{ containerPath: "/models", volumeName: "ai-nas-models", readOnly: false }]);
            assert.ok((c.inputs.healthcheck as { tests: string[] }).tests.includes("ollama"));
        }
    });

    test("NVIDIA nodes request their GPUs; the AMD node runs the ROCm image with /dev/kfd, /dev/dri and its groups", () => {
        for (const machine of ["orpheus", "kratos", "nyx"]) {
            const c = container(run, `${machine}-ollama`);
            assert.equal(c.inputs.gpus, "all");
            assert.equal(c.inputs.image, imageId(run, machine, defaultImages.ollama));
        }
        const hades = container(run, "hades-ollama");
        assert.equal(hades.inputs.image, imageId(run, "hades", defaultImages.ollamaRocm));
        assert.equal(hades.inputs.gpus, undefined);
        assert.deepEqual(hades.inputs.devices, [{ hostPath: "/dev/kfd" }, { hostPath: "/dev/dri" }]);
        assert.deepEqual(hades.inputs.groupAdds, ["110", "44"]);
    });

    test("exactly one node writes the model store: it alone may prune and it alone pulls", () => {
        const pruners = ofType(run, types.container).filter((c) => c.name.endsWith("-ollama") && environment(c).vars.OLLAMA_NOPRUNE === undefined);
        assert.deepEqual(pruners.map((c) => c.name), ["orpheus-ollama"]);
        const pulls = commandsOf(run).filter((c) => c.name.includes("-pull-"));
        assert.deepEqual(pulls.map((c) => c.name).sort(), [
            "orpheus-inference-pull-llama3-1-8b",
            "orpheus-inference-pull-llama3-3-70b",
            "orpheus-inference-pull-nomic-embed-text",
            "orpheus-inference-pull-qwen2-5-72b",
            "orpheus-inference-pull-qwen2-5-coder-14b",
        ]);
        for (const pull of pulls) {
            assert.equal(pull.parent, "orpheus-inference");
            assert.match(String(pull.inputs.create), /ollama pull "\$model"/);
            assert.match(String(pull.inputs.delete), /ollama rm "\$model"/);
        }
    });

    test("each model is warmed on each of its nodes, over SSH as the platform's user", () => {
        const warms = commandsOf(run).filter((c) => c.name.includes("-warm-"));
        const expected = new Map(homelabModels.flatMap((m) => m.nodes.map((node) => [`${node}-inference-warm-${m.name.replace(/[^a-z0-9]+/g, "-")}`, m.name])));
        assert.deepEqual(warms.map((c) => c.name).sort(), [...expected.keys()].sort());
        for (const warm of warms) {
            const machine = warm.name.split("-")[0];
            assert.equal(warm.parent, `${machine}-inference`);
            assert.deepEqual(warm.inputs.connection, { host: homelabMachines[machine].address, user: "deploy", port: 22, dialErrorLimit: 3, perDialTimeout: 10 });
            const triggers = warm.inputs.triggers as unknown[];
            assert.equal(triggers[0], expected.get(warm.name), "re-runs when its model changes");
            const model = homelabModels.find((m) => m.name === triggers[0]);
            const numCtx = model?.kind === "embedding" ? "default" : 8192;
            assert.equal(triggers[2], numCtx, "re-runs when its context length changes");
            assert.match(String(warm.inputs.create), numCtx === "default" ? /bash -s "\$model" 11434 <</ : /bash -s "\$model" 11434 8192 <</);
            assert.equal(triggers[1], `${machine}-ollama-id`, "re-runs when the node's Ollama container changes");
        }
    });

    test("LiteLLM on the gateway routes every model group to exactly its nodes", () => {
        const litellm = container(run, "orpheus-litellm");
        assert.equal(litellm.parent, "orpheus-gateway");
        assert.equal(container(run, "orpheus-open-webui").parent, "orpheus-webui");
        assert.deepEqual(litellm.inputs.ports, [{ internal: 4000, external: 4000, ip: "192.168.10.21", protocol: "tcp" }]);
        assert.deepEqual(litellm.inputs.command, ["--config", "/app/config.yaml", "--port", "4000"]);
        assert.match((litellm.inputs.healthcheck as { tests: string[] }).tests.join(" "), /python3 .*\/health\/liveliness/);
        assert.deepEqual(routesOf(run), {
            "llama3.1:8b": ["http://orpheus-ollama:11434", "http://192.168.10.22:11434", "http://192.168.10.23:11434"],
            "qwen2.5-coder:14b": ["http://192.168.10.22:11434", "http://192.168.10.23:11434"],
            "nomic-embed-text": ["http://orpheus-ollama:11434"],
            "llama3.3:70b": ["http://192.168.10.24:11434"],
            "qwen2.5:72b": ["http://192.168.10.24:11434"],
        });
    });

    test("LiteLLM's keys and database URL reach it only as secret environment values", () => {
        const env = environment(container(run, "orpheus-litellm"));
        assert.ok(env.secret);
        assert.match(env.vars.LITELLM_MASTER_KEY, new RegExp(`^sk-${generatedSecretMarker}platform-litellm-master-key`));
        assert.match(env.vars.LITELLM_SALT_KEY, new RegExp(`^${generatedSecretMarker}platform-litellm-salt-key`));
        assert.match(env.vars.DATABASE_URL, /^postgresql:\/\/litellm:.+@192\.168\.10\.11:5432\/litellm$/);
        assert.equal(env.vars.FALLBACK_API_KEY, undefined);
    });

    test("Open WebUI on :3000 talks to LiteLLM only, with the master key, its database and the tool servers", () => {
        const webui = container(run, "orpheus-open-webui");
        assert.deepEqual(webui.inputs.ports, [{ internal: 8080, external: 3000, ip: "192.168.10.21", protocol: "tcp" }]);
        assert.match((webui.inputs.healthcheck as { tests: string[] }).tests.join(" "), /curl .*\/health/);
        const env = environment(webui);
        assert.ok(env.secret);
        assert.equal(env.vars.ENABLE_OLLAMA_API, "false");
        assert.equal(env.vars.OPENAI_API_BASE_URL, "http://orpheus-litellm:4000/v1");
        assert.equal(env.vars.WEBUI_URL, "https://chat.lab.internal");
        assert.equal(env.vars.OPENAI_API_KEY, environment(container(run, "orpheus-litellm")).vars.LITELLM_MASTER_KEY);
        assert.match(env.vars.WEBUI_SECRET_KEY, new RegExp(`^${generatedSecretMarker}platform-webui-secret-key`));
        assert.match(env.vars.DATABASE_URL, /^postgresql:\/\/openwebui:.+@192\.168\.10\.11:5432\/openwebui$/);
        const tools = JSON.parse(env.vars.TOOL_SERVER_CONNECTIONS) as { url: string; key: string; auth_type: string }[];
        assert.deepEqual(tools.map((t) => [t.url, t.auth_type]), [["http://192.168.10.12:8001", "bearer"]], "the edge's LAN entrypoint for the tool servers");
        assert.match(tools[0].key, new RegExp(`${generatedSecretMarker}platform-tools-api-key`));
    });

    test("Open WebUI takes the keys it is given at every start: persistent config off, so a rotated master key or tools key reaches it", () => {
        const env = environment(container(run, "orpheus-open-webui")).vars;
        assert.equal(env.ENABLE_PERSISTENT_CONFIG, "false");
        assert.equal(env.OPENAI_API_KEY, environment(container(run, "orpheus-litellm")).vars.LITELLM_MASTER_KEY);
        const toolsKeys = ofType(run, types.container)
            .filter((c) => c.name.endsWith("-mcpo"))
            .map((c) => JSON.stringify(c.inputs));
        const tools = JSON.parse(env.TOOL_SERVER_CONNECTIONS) as { key: string }[];
        assert.ok(toolsKeys.length > 0 && toolsKeys.every((inputs) => inputs.includes(tools[0].key)), "every tool server runs with the key Open WebUI sends");
        // Sign-up cannot be left to a stored setting any more: closed by env, but for the first (admin) account.
        assert.deepEqual([env.ENABLE_SIGNUP, env.ENABLE_INITIAL_ADMIN_SIGNUP, env.DEFAULT_USER_ROLE], ["false", "true", "pending"]);
    });

    test("no secret appears in plain text in any inference resource (env, labels, files, commands)", () => {
        const mine = run.resources.filter((r) => /-(ollama|litellm|open-webui|inference|gateway|webui)(-|$)/.test(r.name));
        assert.ok(mine.length > 20);
        for (const r of mine) {
            const leaks = plainStrings(r.rawInputs).filter((s) => s.includes(generatedSecretMarker) || /sk-generated/.test(s));
            assert.deepEqual(leaks, [], `${r.name} carries a secret in plain text`);
        }
    });

    test("the endpoints are plain outputs and the master key a secret one", () => {
        assert.equal(run.outputs.liteLlmUrl, "http://192.168.10.21:4000");
        assert.equal(run.outputs.openWebUiUrl, "http://192.168.10.21:3000");
        assert.ok(run.secretOutputs.has("liteLlmMasterKey"));
        assert.ok(!run.secretOutputs.has("liteLlmUrl") && !run.secretOutputs.has("openWebUiUrl"));
    });
});

describe("the inference tier of the local stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runOk(readStackConfig("Pulumi.local.yaml"));
    });

    test("Ollama runs on the CPU, and its model commands run locally against the local Docker socket", () => {
        const ollama = container(run, "local-ollama");
        assert.equal(ollama.inputs.gpus, undefined);
        assert.deepEqual(ollama.inputs.devices ?? [], []);
        assert.equal(environment(ollama).vars.OLLAMA_NOPRUNE, undefined, "the only node is the writer");
        assert.deepEqual(commandsOf(run).map((c) => c.name), []);
        const local = commandsOf(run, localCommand);
        assert.deepEqual(local.map((c) => c.name).sort(), ["local-inference-model-list", "local-inference-pull-qwen2-5-0-5b", "local-inference-warm-qwen2-5-0-5b"]);
        for (const c of local) assert.deepEqual(c.inputs.environment, { DOCKER_HOST: "unix:///var/run/docker.sock" });
    });

    test("containers on one machine reach each other by name, not through 127.0.0.1", () => {
        assert.deepEqual(routesOf(run, "local"), { "qwen2.5:0.5b": ["http://local-ollama:11434"] });
        assert.equal(environment(container(run, "local-open-webui")).vars.OPENAI_API_BASE_URL, "http://local-litellm:4000/v1");
        assert.match(environment(container(run, "local-litellm")).vars.DATABASE_URL, /^postgresql:\/\/litellm:[^@]+@local-postgres:5432\/litellm$/);
        assert.match(environment(container(run, "local-open-webui")).vars.DATABASE_URL, /^postgresql:\/\/openwebui:[^@]+@local-postgres:5432\/openwebui$/);
        assert.ok(environment(container(run, "local-litellm")).secret);
        const tools = JSON.parse(environment(container(run, "local-open-webui")).vars.TOOL_SERVER_CONNECTIONS) as { url: string }[];
        assert.deepEqual(tools.map((t) => t.url), ["http://local-mcpo:8000"]);
        assert.equal(environment(container(run, "local-open-webui")).vars.AIOHTTP_CLIENT_SESSION_TOOL_SERVER_SSL, undefined);
        for (const name of ["local-ollama", "local-litellm", "local-open-webui", "local-postgres"]) {
            assert.ok((container(run, name).inputs.networksAdvanced as { name: string }[]).some((n) => n.name === "ai-frontend"), name);
        }
    });
});

describe("changing the lab in config", () => {
    let base: ProgramRun;
    before(async () => {
        base = await runOk(homelabRaw);
    });

    test("a GPU node added in config gets Ollama, the warm-up of its models and LiteLLM routes", async () => {
        const run = await runOk({
            ...homelabRaw,
            machines: { ...homelabMachines, pallas: { address: "192.168.10.26", roles: ["inference"], gpu: { vendor: "nvidia", vramGb: 24 } } },
            models: homelabModels.map((m) => (m.name === "llama3.1:8b" ? { ...m, nodes: [...m.nodes, "pallas"] } : m)),
        });
        assert.equal(container(run, "pallas-ollama").inputs.gpus, "all");
        assert.equal(environment(container(run, "pallas-ollama")).vars.OLLAMA_NOPRUNE, "1");
        resource(run, types.command, "pallas-inference-warm-llama3-1-8b");
        assert.deepEqual(routesOf(run)["llama3.1:8b"], ["http://orpheus-ollama:11434", "http://192.168.10.22:11434", "http://192.168.10.23:11434", "http://192.168.10.26:11434"]);
    });

    test("a disabled node loses Ollama and every LiteLLM route (enabled: false alone)", async () => {
        const run = await runOk({ ...homelabRaw, machines: { ...homelabMachines, kratos: { ...homelabMachines.kratos, enabled: false } } });
        assert.deepEqual(run.resources.filter((r) => /^kratos-(ollama|inference)/.test(r.name)), []);
        assert.deepEqual(routesOf(run)["qwen2.5-coder:14b"], ["http://192.168.10.23:11434"]);
        assert.ok(!JSON.stringify(routesOf(run)).includes("192.168.10.22"));
    });

    test("adding a model changes no Ollama, PostgreSQL or Open WebUI container, only commands and LiteLLM's routes", async () => {
        const run = await runOk({ ...homelabRaw, models: [...homelabModels, { name: "phi3:mini", sizeGb: 2.3, nodes: ["kratos", "nyx"] }] });
        const guarded = (r: ProgramRun) => ofType(r, types.container).filter((c) => /-(ollama|postgres[a-z-]*|open-webui)$/.test(c.name));
        const before = new Map(guarded(base).map((c) => [c.name, c.inputs]));
        assert.ok(before.size >= 5);
        for (const c of guarded(run)) assert.deepEqual(c.inputs, before.get(c.name), `${c.name} would change`);
        assert.deepEqual(guarded(run).map((c) => c.name).sort(), [...before.keys()].sort());
        resource(run, types.command, "orpheus-inference-pull-phi3-mini");
        resource(run, types.command, "kratos-inference-warm-phi3-mini");
        resource(run, types.command, "nyx-inference-warm-phi3-mini");
        assert.deepEqual(routesOf(run)["phi3:mini"], ["http://192.168.10.22:11434", "http://192.168.10.23:11434"]);
    });

    test("the SSH key reaches the model commands only as a secret", async () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----fake";
        const run = await runOk({ ...homelabRaw, ssh: { user: "deploy", privateKey: key } }, ["ssh"]);
        const commands = commandsOf(run);
        assert.ok(commands.length > 0);
        for (const c of commands) {
            assert.equal((c.inputs.connection as { privateKey?: string }).privateKey, key, c.name);
            assert.ok(!plainStrings(c.rawInputs).includes(key), `${c.name} carries the key in plain text`);
        }
    });

    test("a fallback adds the external model, its key a secret environment value of LiteLLM only", async () => {
        const run = await runOk({ ...homelabRaw, fallback: { model: "openai/gpt-4o-mini", apiKey: "sk-fallback-test-key" } }, ["fallback"]);
        const env = environment(container(run, "orpheus-litellm"));
        assert.ok(env.secret);
        assert.equal(env.vars.FALLBACK_API_KEY, "sk-fallback-test-key");
        const chatGroups = Object.keys(routesOf(base)).filter((group) => group !== "nomic-embed-text");
        assert.deepEqual(liteLlmConfig(run, "orpheus").router_settings.fallbacks, chatGroups.map((group) => ({ [group]: ["openai/gpt-4o-mini"] })), "no fallback from the embedding model");
        for (const r of run.resources) assert.ok(!plainStrings(r.rawInputs).some((s) => s.includes("sk-fallback-test-key")), `${r.name} leaks the fallback key`);
    });
});
