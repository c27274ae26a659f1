import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { modelListScript, pullScript, removeScript, warmBody, warmScript } from "../../components/ollama/scripts";

const container = "hades-ollama";

function shellcheck(script: string, shell: "sh" | "bash"): string {
    const result = spawnSync("shellcheck", ["-s", shell, "-"], { input: script, encoding: "utf8" });
    return result.status === 0 ? "" : result.stdout + result.stderr;
}

describe("the model scripts are clean shell", () => {
    const model = "library/qwen2.5-coder:14b-instruct-q4_K_M";
    const scripts = {
        pull: pullScript(container, model),
        warm: warmScript(container, model, 11434),
        list: modelListScript(container, [model, "llama3.1:8b"]),
        "empty list": modelListScript(container, []),
        remove: removeScript(container, model),
    };
    for (const [name, script] of Object.entries(scripts)) {
        test(`${name} passes shellcheck as POSIX sh`, () => assert.equal(shellcheck(script, "sh"), ""));
    }
    test("the warm-up run inside the container passes shellcheck as bash", () => assert.equal(shellcheck(warmBody, "bash"), ""));
});

/**
 * A fake `docker` that emulates `docker exec <container> ...` against a directory standing
 * in for the shared store: `present` lists the pulled models, /models maps to the directory.
 */
const fakeDocker = `#!/bin/sh
echo "$*" >> "$FAKE_STORE/calls"
[ -n "\${FAKE_UNREACHABLE:-}" ] && { echo "cannot connect to the Docker daemon" >&2; exit 1; }
shift
[ "$1" = "-i" ] && shift
shift
case "$1 $2" in
  "ollama list") exit 0 ;;
  "ollama show") grep -Fqx -- "$3" "$FAKE_STORE/present" ;;
  "ollama pull") [ -z "\${FAKE_PULL_FAILS:-}" ] || { echo "pull model manifest: file does not exist" >&2; exit 1; }; echo "$3" >> "$FAKE_STORE/present" ;;
  "ollama rm") grep -Fvx -- "$3" "$FAKE_STORE/present" > "$FAKE_STORE/present.new"; mv "$FAKE_STORE/present.new" "$FAKE_STORE/present" ;;
  "cat /models/"*) cat "$FAKE_STORE/\${2#/models/}" ;;
  "sh -c") sh -c "$(printf '%s' "$3" | sed "s#/models/#$FAKE_STORE/#g")" ;;
  "bash -s") port=\${FAKE_OLLAMA_PORT:-$4}; model=$3; shift 4; exec bash -s "$model" "$port" "$@" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
`;

let bin: string;
before(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
    fs.writeFileSync(path.join(bin, "docker"), fakeDocker, { mode: 0o755 });
});
after(() => fs.rmSync(bin, { recursive: true, force: true }));

describe("pulling, listing and removing models in the shared store", () => {
    let store: string;

    function freshStore(present: string[]): void {
        store = fs.mkdtempSync(path.join(os.tmpdir(), "fake-store-"));
        fs.writeFileSync(path.join(store, "present"), present.map((m) => `${m}\n`).join(""));
        fs.writeFileSync(path.join(store, "calls"), "");
    }
    function run(script: string, env: Record<string, string> = {}) {
        const result = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_STORE: store, ...env } });
        const present = fs.readFileSync(path.join(store, "present"), "utf8").split("\n").filter(Boolean);
        const calls = fs.readFileSync(path.join(store, "calls"), "utf8").split("\n").filter(Boolean);
        fs.rmSync(store, { recursive: true, force: true });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr, present, calls };
    }

    test("a missing model is pulled through the writer's container", () => {
        freshStore([]);
        const result = run(pullScript(container, "llama3.1:8b"));
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(result.present, ["llama3.1:8b"]);
        assert.ok(result.calls.includes(`exec ${container} ollama pull llama3.1:8b`), result.calls.join("\n"));
    });

    test("a model already in the store is not pulled again (no registry needed on a re-run)", () => {
        freshStore(["llama3.1:8b"]);
        const result = run(pullScript(container, "llama3.1:8b"));
        assert.equal(result.status, 0, result.stderr);
        assert.ok(!result.calls.some((c) => c.includes("ollama pull")), result.calls.join("\n"));
    });

    test("a failed pull fails the command and shows Ollama's error", () => {
        freshStore([]);
        const result = run(pullScript(container, "no-such-model"), { FAKE_PULL_FAILS: "1" });
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /pulling no-such-model failed/);
        assert.match(result.stderr, /file does not exist/);
    });

    const listAndRemove = (listed: string[], removed: string) => `${modelListScript(container, listed)}\n${removeScript(container, removed)}`;

    test("a model that left the config is removed from the store", () => {
        freshStore(["llama3.1:8b", "qwen2.5:72b"]);
        const result = run(listAndRemove(["llama3.1:8b"], "qwen2.5:72b"));
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(result.present, ["llama3.1:8b"]);
    });

    test("a model still configured is kept when its pull is replaced (new container, new writer)", () => {
        freshStore(["llama3.1:8b", "qwen2.5:72b"]);
        const result = run(listAndRemove(["llama3.1:8b", "qwen2.5:72b"], "qwen2.5:72b"));
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(result.present, ["llama3.1:8b", "qwen2.5:72b"]);
        assert.match(result.stdout, /still configured/);
    });

    test("a model whose name is part of a configured one is still removed", () => {
        freshStore(["llama3.1:8b", "llama3.1:8b-instruct"]);
        const result = run(listAndRemove(["llama3.1:8b-instruct"], "llama3.1:8b"));
        assert.deepEqual(result.present, ["llama3.1:8b-instruct"]);
    });

    test("removal never fails: an unreachable store leaves the model in place", () => {
        freshStore(["qwen2.5:72b"]);
        const result = run(removeScript(container, "qwen2.5:72b"), { FAKE_UNREACHABLE: "1" });
        assert.equal(result.status, 0);
        assert.deepEqual(result.present, ["qwen2.5:72b"]);
        assert.match(result.stdout, /left in place/);
    });

    test("removal without a model list (never written) removes nothing", () => {
        freshStore(["qwen2.5:72b"]);
        const result = run(removeScript(container, "qwen2.5:72b"));
        assert.equal(result.status, 0);
        assert.deepEqual(result.present, ["qwen2.5:72b"]);
    });
});

describe("warming a model on a node (through docker exec into bash, whose /dev/tcp talks to a fake Ollama API)", () => {
    let server: http.Server;
    let port: number;
    const requests: { path: string; body: Record<string, unknown> }[] = [];
    let embeddingOnly = new Set<string>();
    let broken = new Set<string>();

    before(async () => {
        server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
            req.on("end", () => {
                const body = JSON.parse(raw) as { model: string };
                requests.push({ path: req.url ?? "", body });
                const refuses = broken.has(body.model) || (req.url === "/api/generate" && embeddingOnly.has(body.model));
                res.writeHead(refuses ? 400 : 200, { "Content-Type": "application/json" });
                res.end(refuses ? `{"error":"\\"${body.model}\\" does not support generate"}` : `{"model":"${body.model}","done":true}`);
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as AddressInfo).port;
    });
    after(() => server.close());

    /** Runs the warm-up as a node would: the host script, through `docker exec -i ... bash -s` and its heredoc. */
    function warm(model: string, numCtx?: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
        requests.length = 0;
        const store = fs.mkdtempSync(path.join(os.tmpdir(), "fake-store-"));
        return new Promise((resolve) => {
            const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_STORE: store, FAKE_OLLAMA_PORT: String(port), OLLAMA_WARM_HOST: "127.0.0.1" };
            const child = spawn("sh", ["-c", warmScript(container, model, 11434, numCtx)], { env });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("close", (status) => {
                fs.rmSync(store, { recursive: true, force: true });
                resolve({ status, stdout, stderr });
            });
        });
    }

    test("a chat model is loaded by a generate request without a prompt", async () => {
        const result = await warm("llama3.1:8b");
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(requests, [{ path: "/api/generate", body: { model: "llama3.1:8b" } }]);
        assert.match(result.stdout, /llama3.1:8b is loaded/);
    });

    test("a chat model is loaded at the context length LiteLLM will ask for, so the first request does not reload it", async () => {
        const result = await warm("llama3.1:8b", 8192);
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(requests, [{ path: "/api/generate", body: { model: "llama3.1:8b", options: { num_ctx: 8192 } } }]);
    });

    test("an embedding-only model is loaded through the embed API", async () => {
        embeddingOnly = new Set(["nomic-embed-text"]);
        const result = await warm("nomic-embed-text");
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(requests.map((r) => r.path), ["/api/generate", "/api/embed"]);
        assert.deepEqual(requests[1].body, { model: "nomic-embed-text", input: "warm-up" });
    });

    test("a model that does not load fails the command", async () => {
        broken = new Set(["qwen2.5:72b"]);
        const result = await warm("qwen2.5:72b");
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /did not load/);
    });
});
