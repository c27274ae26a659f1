import * as assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Answer, chat, Gateway, servedBy, startGateway, tally } from "./gateway";

/**
 * The real LiteLLM on the homelab config with `litellm.healthCheckSeconds` set: a node that
 * refuses connections (never cooled down by LiteLLM) is left out of rotation once a
 * background probe fails, and comes back once one succeeds.
 */

const healthCheckSeconds = 10;
const group = "llama3.1:8b"; // orpheus, kratos, nyx

let gateway: Gateway;

before(async () => {
    gateway = await startGateway({ overrides: { litellm: { healthCheckSeconds } } });
});

after(async () => {
    await gateway?.stop();
});

const retried = (answer: Answer) => Number(answer.headers.get("x-litellm-attempted-retries") ?? "0") > 0;

/** Sends requests until `run` in a row satisfy `ok`; returns the seconds it took (bounded by `limitSeconds`). */
async function secondsUntil(ok: (answer: Answer) => boolean, run: number, limitSeconds: number): Promise<number> {
    const started = Date.now();
    let streak = 0;
    while (streak < run) {
        assert.ok(Date.now() - started < limitSeconds * 1000, `no ${run} answers in a row as expected within ${limitSeconds} s`);
        const answer = await chat(gateway, group);
        servedBy(answer);
        streak = ok(answer) ? streak + 1 : 0;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return (Date.now() - started) / 1000;
}

describe("health-check routing (litellm.healthCheckSeconds)", () => {
    test("a node that refuses connections stops being tried within about one probe interval, and serves again after it is back", async (t) => {
        // Generous bound for a 2-core CI machine: two intervals plus the probes' own time.
        const limit = 2 * healthCheckSeconds + 30;
        await gateway.nodes.kratos.setMode("refuse");
        let out: number;
        try {
            // 20 answers in a row without a failed try: by chance alone (kratos picked 1 in 3) that is 1 in 3,300.
            out = await secondsUntil((answer) => !retried(answer), 20, limit);
            const after: Answer[] = [];
            for (let i = 0; i < 30; i++) after.push(await chat(gateway, group));
            t.diagnostic(`kratos out of rotation after ${out.toFixed(1)} s; then ${JSON.stringify(tally(after.map(servedBy)))}`);
            assert.deepEqual(after.filter(retried).length, 0, "a request still tried the refusing node");
        } finally {
            await gateway.nodes.kratos.setMode("ok");
        }
        const back = await secondsUntil((answer) => servedBy(answer) === "kratos", 1, limit);
        t.diagnostic(`kratos serving again after ${back.toFixed(1)} s`);
    });

    test("the probes reach every node and carry the model's num_ctx too (a probe without it would make Ollama reload the model)", () => {
        const chats = Object.values(gateway.nodes).flatMap((sim) => sim.requests.filter((r) => r.path === "/api/chat"));
        // hades serves no model of the test's group: whatever it received came from the probes.
        assert.ok(gateway.nodes.hades.requests.some((r) => r.path === "/api/chat"), "hades received no probe");
        assert.deepEqual([...new Set(chats.map((r) => r.options?.num_ctx))], [8192]);
        const embeds = gateway.nodes.orpheus.requests.filter((r) => r.path === "/api/embed");
        assert.ok(embeds.length > 0, "the embedding model was not probed");
        assert.deepEqual([...new Set(embeds.map((r) => r.options?.num_ctx))], [undefined]);
    });
});
