import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { serviceKinds } from "../../machines/services";
import { chat, Gateway, masterKey, servedBy, startGateway, tally } from "./gateway";

/**
 * The real LiteLLM on exactly the homelab stack's rendered config.yaml (api_bases pointed at
 * simulated Ollama nodes): load spreading, failover, single-node groups, auth, health,
 * metrics and context windows, read back from LiteLLM's answers and the nodes' records.
 */

const spreadGroup = "llama3.1:8b"; // orpheus, kratos, nyx
const pairGroup = "qwen2.5-coder:14b"; // kratos, nyx
const soloGroup = "llama3.3:70b"; // hades only

let gateway: Gateway;

before(async () => {
    gateway = await startGateway();
});

after(async () => {
    await gateway?.stop();
});

/** Requests one model group's nodes received since `marks` (per node). */
function newRequests(model: string, marks: Record<string, number>): Record<string, number> {
    return Object.fromEntries(Object.entries(gateway.nodes).map(([node, sim]) => [node, sim.served(model, "/api/chat").length - (marks[node] ?? 0)]));
}

function mark(model: string): Record<string, number> {
    return Object.fromEntries(Object.entries(gateway.nodes).map(([node, sim]) => [node, sim.served(model, "/api/chat").length]));
}

describe("the proxy runs the rendered homelab config", () => {
    test("only the api_bases differ from what the program renders, and each points at a simulated node on 127.0.0.1", () => {
        const strip = (config: typeof gateway.rendered) => config.model_list.map(({ litellm_params: { api_base: _base, ...params }, ...rest }) => ({ ...rest, litellm_params: params }));
        assert.deepEqual(strip(gateway.running), strip(gateway.rendered));
        assert.deepEqual({ ...gateway.running, model_list: [] }, { ...gateway.rendered, model_list: [] });
        for (const deployment of gateway.running.model_list) assert.match(deployment.litellm_params.api_base ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(gateway.rendered.router_settings.routing_strategy, "simple-shuffle");
    });
});

describe("auth, health and metrics", () => {
    test("/health/liveliness answers without a key", async () => {
        const res = await fetch(`${gateway.url}/health/liveliness`);
        assert.equal(res.status, 200, await res.text());
    });

    test("a request without the master key is refused with 401 and reaches no node; one with a wrong key is refused too", async () => {
        const before = mark(spreadGroup);
        const anonymous = await chat(gateway, spreadGroup, { key: null });
        assert.equal(anonymous.status, 401, anonymous.text);
        const wrong = await chat(gateway, spreadGroup, { key: "sk-not-the-master-key" });
        assert.ok(wrong.status >= 400 && wrong.status < 500, `${wrong.status} ${wrong.text}`);
        assert.deepEqual(newRequests(spreadGroup, before), { orpheus: 0, kratos: 0, nyx: 0, hades: 0 });
        const ok = await chat(gateway, spreadGroup, { key: masterKey });
        assert.equal(ok.status, 200, ok.text);
    });

    test("the path Prometheus scrapes, without a key, counts the requests served", async () => {
        for (let i = 0; i < 3; i++) servedBy(await chat(gateway, pairGroup, { stream: false }));
        const metricsPath = serviceKinds.litellm.metrics?.path ?? "(none)";
        // LiteLLM counts a request in a callback after answering it: read the counter until it shows (bounded).
        let served = 0;
        for (const deadline = Date.now() + 20_000; served < 3 && Date.now() < deadline; ) {
            const res = await fetch(`${gateway.url}${metricsPath}`);
            assert.equal(res.status, 200);
            served = (await res.text())
                .split("\n")
                .filter((line) => line.startsWith("litellm_proxy_total_requests_metric_total{") && line.includes(`requested_model="${pairGroup}"`) && line.includes('status_code="200"'))
                .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
            if (served < 3) await new Promise((resolve) => setTimeout(resolve, 250));
        }
        assert.ok(served >= 3, `litellm_proxy_total_requests_metric_total for ${pairGroup} with status 200: ${served}`);
    });
});

describe("load spreading over a three-node group (simple-shuffle)", () => {
    test("60 sequential requests: every node serves at least 5, and the nodes' records agree with LiteLLM's answers", async (t) => {
        const before = mark(spreadGroup);
        const served: string[] = [];
        for (let i = 0; i < 60; i++) served.push(servedBy(await chat(gateway, spreadGroup)));
        const counts = tally(served);
        t.diagnostic(`sequential: ${JSON.stringify(counts)}`);
        for (const node of ["orpheus", "kratos", "nyx"]) assert.ok((counts[node] ?? 0) >= 5, `${node} served ${counts[node] ?? 0} of 60: ${JSON.stringify(counts)}`);
        assert.deepEqual(newRequests(spreadGroup, before), { orpheus: counts.orpheus, kratos: counts.kratos, nyx: counts.nyx, hades: 0 });
    });

    test("60 concurrent requests: every node serves at least 5", async (t) => {
        for (const sim of Object.values(gateway.nodes)) sim.delayMs = 150;
        try {
            const answers = await Promise.all(Array.from({ length: 60 }, () => chat(gateway, spreadGroup)));
            const counts = tally(answers.map(servedBy));
            t.diagnostic(`concurrent: ${JSON.stringify(counts)}`);
            for (const node of ["orpheus", "kratos", "nyx"]) assert.ok((counts[node] ?? 0) >= 5, `${node} served ${counts[node] ?? 0} of 60: ${JSON.stringify(counts)}`);
        } finally {
            for (const sim of Object.values(gateway.nodes)) sim.delayMs = 0;
        }
    });
});

describe("context window", () => {
    test("every chat request that reached a node carried options.num_ctx = ollama.contextLength (8192), streamed or not", async () => {
        servedBy(await chat(gateway, soloGroup, { stream: false }));
        const chats = Object.values(gateway.nodes).flatMap((sim) => sim.requests.filter((r) => r.path === "/api/chat"));
        assert.ok(chats.length >= 120, `only ${chats.length} chat requests recorded`);
        assert.ok(chats.some((r) => r.stream === false) && chats.some((r) => r.stream === true));
        const numCtx = [...new Set(chats.map((r) => r.options?.num_ctx))];
        assert.deepEqual(numCtx, [8192]);
    });
});

describe("failover", () => {
    test("a node that answers 500 is cooled down within its first failures: every request succeeds, and the last 30 of 60 requests never try it", async (t) => {
        const before = mark(pairGroup);
        await gateway.nodes.nyx.setMode("error", pairGroup);
        try {
            const answers: string[] = [];
            // Paced a little: LiteLLM counts a failure in a callback on its event loop, after the answer.
            const send = async () => {
                answers.push(servedBy(await chat(gateway, pairGroup)));
                await new Promise((resolve) => setTimeout(resolve, 20));
            };
            for (let i = 0; i < 30; i++) await send();
            const early = newRequests(pairGroup, before);
            for (let i = 0; i < 30; i++) await send();
            const tried = newRequests(pairGroup, before);
            t.diagnostic(`served: ${JSON.stringify(tally(answers))}; requests per node: ${JSON.stringify(tried)}`);
            assert.deepEqual(tally(answers), { kratos: 60 });
            // Cooled after allowedFails + 1 = 2 counted failures. The count is taken after the answer, so a
            // request's own immediate retries (up to numRetries) may land on the node before it is cooled.
            const { allowedFails, numRetries } = gateway.config.litellm;
            assert.ok(tried.nyx >= 1 && tried.nyx <= allowedFails + 1 + numRetries, `nyx was tried ${tried.nyx} times`);
            assert.equal(tried.nyx, early.nyx, "nyx was tried again in the last 30 requests (within cooldownSeconds)");
        } finally {
            await gateway.nodes.nyx.setMode("ok", pairGroup);
        }
    });

    test("a node that refuses connections: every request still succeeds on the other nodes", async (t) => {
        await gateway.nodes.kratos.setMode("refuse");
        try {
            const answers: string[] = [];
            let retried = 0;
            for (let i = 0; i < 30; i++) {
                const answer = await chat(gateway, spreadGroup);
                answers.push(servedBy(answer));
                if (Number(answer.headers.get("x-litellm-attempted-retries") ?? "0") > 0) retried += 1;
            }
            const counts = tally(answers);
            t.diagnostic(`served: ${JSON.stringify(counts)}; ${retried} of 30 needed a retry (a refused connection is never cooled down)`);
            assert.equal(counts.kratos, undefined);
            assert.equal((counts.orpheus ?? 0) + (counts.nyx ?? 0), 30);
        } finally {
            await gateway.nodes.kratos.setMode("ok");
        }
    });
});

describe("single-node groups", () => {
    test("one failing request does not take the model's only node out: the next request is served by it", async () => {
        const before = mark(soloGroup);
        await gateway.nodes.hades.setMode("error", soloGroup);
        const failed = await chat(gateway, soloGroup, { stream: false });
        await gateway.nodes.hades.setMode("ok", soloGroup);
        assert.ok(failed.status >= 500, `${failed.status} ${failed.text}`);
        const tried = newRequests(soloGroup, before).hades;
        assert.equal(tried, 1 + gateway.config.litellm.numRetries, "the failing request is tried 1 + numRetries times");
        for (let i = 0; i < 3; i++) assert.equal(servedBy(await chat(gateway, soloGroup)), "hades");
    });
});

describe("no Prisma engine is fetched without a database", () => {
    test("LiteLLM's HOME holds no Prisma engine and its log names no download", () => {
        const found: string[] = [];
        const walk = (dir: string) => {
            for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
                const full = path.join(dir, entry.name);
                if (/prisma/i.test(entry.name)) found.push(full);
                if (entry.isDirectory()) walk(full);
            }
        };
        walk(gateway.home);
        assert.deepEqual(found, []);
        assert.doesNotMatch(gateway.log(), /prisma[^\n]*(download|fetch)/i);
    });
});
