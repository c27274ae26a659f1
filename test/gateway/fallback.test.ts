import * as assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { chat, embed, fallbackApiKey, Gateway, servedBy, startGateway, tally } from "./gateway";
import { readStackConfig } from "../harness/program";

/**
 * The real LiteLLM on the homelab config with an external fallback (the simulated
 * OpenAI-compatible API), a short request timeout, and per-model context lengths: what the
 * program renders for that stack config, api_bases pointed at the simulated nodes.
 */

const timeoutSeconds = 4;
const homelabModels = readStackConfig("Pulumi.homelab.yaml").models as { name: string }[];
const contextLengths: Record<string, number> = { "llama3.3:70b": 16384, "nomic-embed-text": 2048 };

let gateway: Gateway;

before(async () => {
    gateway = await startGateway({
        withFallback: true,
        overrides: {
            litellm: { timeoutSeconds },
            models: homelabModels.map((model) => (contextLengths[model.name] === undefined ? model : { ...model, contextLength: contextLengths[model.name] })),
        },
    });
});

after(async () => {
    await gateway?.stop();
});

describe("the external fallback", () => {
    test("with every node of a chat group failing, the external API serves the request, with the fallback's key", async () => {
        const group = "qwen2.5-coder:14b";
        await gateway.nodes.kratos.setMode("error", group);
        await gateway.nodes.nyx.setMode("error", group);
        try {
            const streamed = await chat(gateway, group);
            const whole = await chat(gateway, group, { stream: false });
            assert.deepEqual([servedBy(streamed), servedBy(whole)], ["external", "external"]);
            const calls = gateway.external.requests.filter((r) => r.path.endsWith("/chat/completions"));
            assert.ok(calls.length >= 2);
            for (const call of calls) assert.deepEqual([call.model, call.authorization], ["gpt-4o-mini", `Bearer ${fallbackApiKey}`]);
        } finally {
            await gateway.nodes.kratos.setMode("ok", group);
            await gateway.nodes.nyx.setMode("ok", group);
        }
    });

    test("an embedding model never falls back: its node failing is an error, and the external API is not called", async () => {
        const before = gateway.external.requests.length;
        await gateway.nodes.orpheus.setMode("error", "nomic-embed-text");
        try {
            const answer = await embed(gateway, "nomic-embed-text");
            assert.ok(answer.status >= 500, `${answer.status} ${answer.text}`);
            assert.equal(gateway.external.requests.length, before);
            assert.ok(gateway.nodes.orpheus.served("nomic-embed-text", "/api/embed").length >= 1);
        } finally {
            await gateway.nodes.orpheus.setMode("ok", "nomic-embed-text");
        }
        const healed = await embed(gateway, "nomic-embed-text");
        assert.equal(healed.status, 200, healed.text);
    });

    test("a single-node group with a fallback: a failing request is served by the external API, and the node serves the next one", async () => {
        const group = "llama3.3:70b";
        await gateway.nodes.hades.setMode("error", group);
        const failed = await chat(gateway, group);
        await gateway.nodes.hades.setMode("ok", group);
        assert.equal(servedBy(failed), "external");
        for (let i = 0; i < 3; i++) assert.equal(servedBy(await chat(gateway, group)), "hades");
    });
});

describe("a hanging node", () => {
    test(`costs at most the configured timeout (${timeoutSeconds} s) per try, and only until it is cooled down; every request succeeds on another node`, async (t) => {
        const group = "llama3.1:8b";
        await gateway.nodes.nyx.setMode("hang", group);
        try {
            const answers = [];
            for (let i = 0; i < 12; i++) answers.push(await chat(gateway, group));
            const { allowedFails, numRetries } = gateway.config.litellm;
            const times = answers.map((a) => a.ms);
            t.diagnostic(`served: ${JSON.stringify(tally(answers.map(servedBy)))}; milliseconds: ${times.join(", ")}`);
            for (const answer of answers) assert.notEqual(servedBy(answer), "nyx");
            assert.ok(answers.every((a) => servedBy(a) !== "external"), "a hanging node must not send the group to the fallback");
            // Generous bounds: a request pays the timeout once per try on the hanging node.
            for (const ms of times) assert.ok(ms < (1 + numRetries) * timeoutSeconds * 1000 + 10_000, `a request took ${ms} ms`);
            const paid = times.filter((ms) => ms >= timeoutSeconds * 1000 * 0.9).length;
            assert.ok(paid <= allowedFails + 1 + numRetries, `${paid} requests waited for the timeout`);
            const hung = gateway.nodes.nyx.served(group, "/api/chat").filter((r) => r.answeredWith === "hang").length;
            assert.ok(hung >= 1 && hung <= allowedFails + 1 + numRetries, `nyx was tried ${hung} times while hanging`);
        } finally {
            await gateway.nodes.nyx.setMode("ok", group);
        }
    });
});

describe("context length per model", () => {
    test("a model's own contextLength reaches its node as num_ctx; others get ollama.contextLength; an embedding model gets its own", async () => {
        servedBy(await chat(gateway, "llama3.3:70b"));
        servedBy(await chat(gateway, "qwen2.5:72b"));
        assert.equal((await embed(gateway, "nomic-embed-text")).status, 200);
        const numCtx = (model: string, path: string) => [...new Set(gateway.nodes[model === "nomic-embed-text" ? "orpheus" : "hades"].served(model, path).map((r) => r.options?.num_ctx))];
        assert.deepEqual(numCtx("llama3.3:70b", "/api/chat"), [16384]);
        assert.deepEqual(numCtx("qwen2.5:72b", "/api/chat"), [8192]);
        assert.deepEqual(numCtx("nomic-embed-text", "/api/embed"), [2048]);
    });
});
