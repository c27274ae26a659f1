import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { LiteLlmDeployment, liteLlmEnv, liteLlmPlainEnv, ollamaApiBase, renderLiteLlmConfig } from "../../components/litellm/config";
import { PlatformConfig, validatePlatform } from "../../config/platform";
import { findService, place } from "../../machines/placement";
import { projectRoot, readStackConfig, StackConfig } from "../harness/program";
import { OllamaSim, OpenAiSim } from "./ollama-sim";

/**
 * The real LiteLLM proxy (PyPI, the version of the pinned image) on the config.yaml the
 * program renders, its api_bases rewritten to simulated Ollama nodes on 127.0.0.1.
 */

export const venvDir = path.join(projectRoot, ".venv-litellm");
const litellmBin = path.join(venvDir, "bin", "litellm");
/** The command that creates the virtual environment (CI runs it before the tests). */
export const setupCommand = "bash test/gateway/setup-litellm.sh";

export const masterKey = "sk-gateway-test-master-key";
export const fallbackApiKey = "sk-external-test-key";

export interface RenderedLiteLlmConfig {
    model_list: LiteLlmDeployment[];
    router_settings: Record<string, unknown>;
    litellm_settings: Record<string, unknown>;
    general_settings: Record<string, unknown>;
}

export interface Gateway {
    /** The validated stack config the config.yaml was rendered from. */
    readonly config: PlatformConfig;
    /** The config.yaml as the program renders it (real api_bases). */
    readonly rendered: RenderedLiteLlmConfig;
    /** The config.yaml LiteLLM runs: the rendered one with only the api_bases rewritten. */
    readonly running: RenderedLiteLlmConfig;
    /** Simulated Ollama, by machine name. */
    readonly nodes: Readonly<Record<string, OllamaSim>>;
    /** The simulated external API (the fallback's api_base). */
    readonly external: OpenAiSim;
    readonly url: string;
    /** LiteLLM's HOME and working directory (removed by stop()). */
    readonly home: string;
    /** LiteLLM's output so far (for failure messages). */
    log(): string;
    stop(): Promise<void>;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

/** The homelab stack, with `overrides` replacing whole top-level keys; validated like `pulumi up` does. */
export function homelabConfig(overrides: StackConfig = {}): PlatformConfig {
    const result = validatePlatform({ ...readStackConfig("Pulumi.homelab.yaml"), ...overrides });
    if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
    return result.config;
}

/** The stack config's fallback, pointed at a URL; the key is a secret the program passes as FALLBACK_API_KEY. */
export function fallbackAt(url: string): StackConfig {
    return { fallback: { model: "openai/gpt-4o-mini", apiBase: `${url}/v1`, apiKey: fallbackApiKey } };
}

/**
 * Starts simulated nodes and the real LiteLLM on the homelab stack's rendered config.
 * `overrides` change the stack config (top-level keys) before rendering; the fallback, when
 * wanted, is pointed at the simulated external API.
 */
export async function startGateway(options: { overrides?: StackConfig; withFallback?: boolean } = {}): Promise<Gateway> {
    if (!fs.existsSync(litellmBin)) {
        throw new Error(`LiteLLM is not installed at ${litellmBin}: run \`${setupCommand}\` first (CI's .ci/run does)`);
    }
    const external = new OpenAiSim("external");
    await external.start();
    const config = homelabConfig({ ...options.overrides, ...(options.withFallback === true ? fallbackAt(external.url) : {}) });
    const placement = place(config);
    const gateway = findService(placement, "litellm");
    if (gateway === undefined) throw new Error("the homelab stack places no LiteLLM");
    const rendered = parse(
        renderLiteLlmConfig({ placement, models: config.models, gateway: gateway.machine, litellm: config.litellm, contextLength: config.ollama.contextLength, fallback: config.fallback }),
    ) as RenderedLiteLlmConfig;

    // One simulated Ollama per inference machine, found by the api_base the program gives it.
    const nodes: Record<string, OllamaSim> = {};
    const simByApiBase = new Map<string, string>();
    for (const ollama of placement.services.filter((s) => s.service === "ollama")) {
        const sim = new OllamaSim(ollama.machine);
        await sim.start();
        nodes[ollama.machine] = sim;
        simByApiBase.set(ollamaApiBase(ollama, gateway.machine), sim.url);
    }
    if (config.fallback?.apiBase !== undefined) simByApiBase.set(config.fallback.apiBase, `${external.url}/v1`);
    const running: RenderedLiteLlmConfig = {
        ...rendered,
        model_list: rendered.model_list.map((deployment) => {
            const apiBase = deployment.litellm_params.api_base;
            if (apiBase === undefined) return deployment;
            const simulated = simByApiBase.get(apiBase);
            if (simulated === undefined) throw new Error(`no simulated server for api_base ${apiBase}`);
            return { ...deployment, litellm_params: { ...deployment.litellm_params, api_base: simulated } };
        }),
    };

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gateway-"));
    const configFile = path.join(dir, "config.yaml");
    fs.writeFileSync(configFile, stringify(running));
    const port = await freePort();
    const env: Record<string, string> = {
        PATH: `${path.join(venvDir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
        HOME: dir,
        // Anything LiteLLM sends off this machine goes to a closed loopback port instead.
        HTTP_PROXY: "http://127.0.0.1:9",
        HTTPS_PROXY: "http://127.0.0.1:9",
        NO_PROXY: "127.0.0.1,localhost",
        no_proxy: "127.0.0.1,localhost",
        // The container's environment, less DATABASE_URL (no database here).
        ...liteLlmPlainEnv(),
        [liteLlmEnv.masterKey]: masterKey,
        LITELLM_SALT_KEY: "sk-gateway-test-salt-key",
        ...(config.fallback === undefined ? {} : { [liteLlmEnv.fallbackApiKey]: fallbackApiKey }),
    };
    let output = "";
    const child: ChildProcess = spawn(litellmBin, ["--config", configFile, "--port", String(port), "--host", "127.0.0.1", "--num_workers", "1"], {
        cwd: dir,
        env,
        stdio: ["ignore", "pipe", "pipe"],
    });
    const append = (chunk: Buffer) => {
        output += chunk.toString("utf8");
        if (output.length > 400_000) output = output.slice(-200_000);
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    let exited: number | null | undefined;
    child.on("exit", (code) => (exited = code));

    const url = `http://127.0.0.1:${port}`;
    const stop = async () => {
        if (exited === undefined) {
            const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
            await gone;
            clearTimeout(timer);
        }
        await Promise.all([...Object.values(nodes).map((n) => n.stop()), external.stop()]);
        fs.rmSync(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 180_000;
    for (;;) {
        if (exited !== undefined) {
            await stop();
            throw new Error(`LiteLLM exited (${exited}) before it answered:\n${output.slice(-4000)}`);
        }
        try {
            const res = await fetch(`${url}/health/liveliness`);
            if (res.ok) break;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) {
            await stop();
            throw new Error(`LiteLLM did not answer /health/liveliness within 180 s:\n${output.slice(-4000)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { config, rendered, running, nodes, external, url, home: dir, log: () => output, stop };
}

export interface Answer {
    readonly status: number;
    readonly text: string;
    /** The text the model produced (the whole stream, for a streamed answer). */
    readonly content: string;
    readonly ms: number;
    /** LiteLLM's answer headers (x-litellm-model-id, x-litellm-attempted-retries, ...). */
    readonly headers: Headers;
}

/** POST /v1/chat/completions, as Open WebUI does (streamed unless told otherwise). */
export async function chat(gateway: Gateway, model: string, options: { stream?: boolean; key?: string | null; prompt?: string } = {}): Promise<Answer> {
    const started = Date.now();
    const key = options.key === undefined ? masterKey : options.key;
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(key === null ? {} : { Authorization: `Bearer ${key}` }) },
        body: JSON.stringify({ model, stream: options.stream ?? true, messages: [{ role: "user", content: options.prompt ?? "Hello" }] }),
    });
    const text = await res.text();
    let content = "";
    if (res.ok && options.stream !== false) {
        for (const line of text.split("\n")) {
            if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
            const chunk = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string } }[] };
            content += chunk.choices?.[0]?.delta?.content ?? "";
        }
    } else if (res.ok) {
        content = (JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0].message.content;
    }
    return { status: res.status, text, content: content.trim(), ms: Date.now() - started, headers: res.headers };
}

/** POST /v1/embeddings. */
export async function embed(gateway: Gateway, model: string): Promise<Answer> {
    const started = Date.now();
    const res = await fetch(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${masterKey}` },
        body: JSON.stringify({ model, input: ["a document"] }),
    });
    const text = await res.text();
    return { status: res.status, text, content: "", ms: Date.now() - started, headers: res.headers };
}

/** Which node served each answer ("served by <node>"). */
export function servedBy(answer: Answer): string {
    const match = /served by (\S+)/.exec(answer.content);
    if (answer.status !== 200 || match === null) throw new Error(`request failed (${answer.status}): ${answer.text.slice(0, 500)}`);
    return match[1];
}

/** Counts per key. */
export function tally(values: readonly string[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
    return counts;
}
