import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { projectRoot } from "../harness/program";

interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

function runHealth(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
        const script = path.join(projectRoot, "scripts", "health.ts");
        execFile(process.execPath, ["--import", "tsx", script, ...args], { cwd: projectRoot, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
            resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
        });
    });
}

function listen(server: net.Server): Promise<number> {
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "health-"));
const servers: net.Server[] = [];
const urls: Record<string, string> = {};

function outputsFile(name: string, services: Record<string, { machine: string; healthUrl: string }>): string {
    const file = path.join(dir, `${name}.json`);
    const entries = Object.fromEntries(
        Object.entries(services).map(([instance, s]) => [instance, { service: instance.split("-")[0], machine: s.machine, url: s.healthUrl, healthUrl: s.healthUrl }]),
    );
    fs.writeFileSync(file, JSON.stringify({ services: entries, liteLlmMasterKey: "[secret]" }));
    return file;
}

before(async () => {
    const routes: Record<string, (res: http.ServerResponse) => void> = {
        "/ok": (res) => res.writeHead(200).end("ok"),
        "/moved": (res) => res.writeHead(302, { location: "/ok" }).end(),
        "/broken": (res) => res.writeHead(503).end("down"),
        "/hang": () => undefined,
    };
    const web = http.createServer((req, res) => (routes[req.url ?? ""] ?? ((r: http.ServerResponse) => r.writeHead(404).end()))(res));
    const tcp = net.createServer((socket) => socket.end());
    servers.push(web, tcp);
    const webPort = await listen(web);
    const tcpPort = await listen(tcp);
    const closed = net.createServer();
    const closedPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    Object.assign(urls, {
        ok: `http://127.0.0.1:${webPort}/ok`,
        moved: `http://127.0.0.1:${webPort}/moved`,
        broken: `http://127.0.0.1:${webPort}/broken`,
        hang: `http://127.0.0.1:${webPort}/hang`,
        refused: `http://127.0.0.1:${closedPort}/`,
        tcp: `tcp://127.0.0.1:${tcpPort}`,
        tcpRefused: `tcp://127.0.0.1:${closedPort}`,
    });
});

after(() => {
    for (const server of servers) {
        if (server instanceof http.Server) server.closeAllConnections();
        server.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("npm run health", () => {
    it("exits 0 and reports every service healthy when all answer (2xx, 3xx, TCP open)", async () => {
        const file = outputsFile("healthy", {
            "litellm": { machine: "orpheus", healthUrl: urls.ok },
            "traefik": { machine: "hephaestus", healthUrl: urls.moved },
            "postgres": { machine: "erebus", healthUrl: urls.tcp },
        });
        const run = await runHealth(["--outputs", file, "--json"]);
        assert.equal(run.code, 0, run.stderr);
        const results = JSON.parse(run.stdout) as { service: string; machine: string; url: string; healthy: boolean; status: number | null; ms: number; error: string | null }[];
        const byService = Object.fromEntries(results.map((r) => [r.service, r]));
        assert.deepEqual(Object.keys(byService).sort(), ["litellm", "postgres", "traefik"]);
        assert.deepEqual(
            { ...byService.litellm, ms: 0 },
            { service: "litellm", machine: "orpheus", url: urls.ok, healthy: true, status: 200, ms: 0, error: null },
        );
        assert.equal(byService.traefik.status, 302);
        assert.equal(byService.postgres.healthy, true);
        assert.equal(byService.postgres.status, null);
    });

    it("exits 1 and names each failure: 5xx, timeout, refused (HTTP and TCP)", async () => {
        const file = outputsFile("unhealthy", {
            "litellm": { machine: "orpheus", healthUrl: urls.ok },
            "grafana": { machine: "moros", healthUrl: urls.broken },
            "ollama-kratos": { machine: "kratos", healthUrl: urls.hang },
            "ollama-nyx": { machine: "nyx", healthUrl: urls.refused },
            "postgres": { machine: "erebus", healthUrl: urls.tcpRefused },
        });
        const started = Date.now();
        const run = await runHealth(["--outputs", file, "--json", "--timeout-ms", "400"]);
        assert.equal(run.code, 1, run.stderr);
        const results = JSON.parse(run.stdout) as { service: string; healthy: boolean; status: number | null; ms: number; error: string | null }[];
        const byService = Object.fromEntries(results.map((r) => [r.service, r]));
        assert.equal(byService.litellm.healthy, true);
        assert.equal(byService.grafana.healthy, false);
        assert.equal(byService.grafana.status, 503);
        assert.match(byService.grafana.error ?? "", /HTTP 503/);
        assert.equal(byService["ollama-kratos"].healthy, false);
        assert.match(byService["ollama-kratos"].error ?? "", /no answer within 400 ms/);
        assert.ok(byService["ollama-kratos"].ms >= 390 && byService["ollama-kratos"].ms < 2000, `timeout took ${byService["ollama-kratos"].ms} ms`);
        assert.match(byService["ollama-nyx"].error ?? "", /connection refused/);
        assert.match(byService.postgres.error ?? "", /connection refused/);
        // Probes run concurrently: the whole run is not the sum of the timeouts.
        assert.ok(Date.now() - started < 15000);
    });

    it("prints a table grouped by machine and filters with --machine", async () => {
        const file = outputsFile("table", {
            "node-exporter-kratos": { machine: "kratos", healthUrl: urls.ok },
            "ollama-kratos": { machine: "kratos", healthUrl: urls.broken },
            "litellm": { machine: "orpheus", healthUrl: urls.ok },
        });
        const table = await runHealth(["--outputs", file]);
        assert.equal(table.code, 1);
        const lines = table.stdout.split("\n");
        const kratos = lines.indexOf("kratos");
        const orpheus = lines.indexOf("orpheus");
        assert.ok(kratos >= 0 && orpheus > kratos, table.stdout);
        assert.match(lines[kratos + 2], /FAIL\s+ollama-kratos .*HTTP 503/);
        assert.match(lines[orpheus + 1], /ok\s+litellm/);
        assert.match(table.stdout, /1 of 3 services unhealthy/);

        const filtered = await runHealth(["--outputs", file, "--machine", "orpheus", "--json"]);
        assert.equal(filtered.code, 0, filtered.stderr);
        assert.deepEqual((JSON.parse(filtered.stdout) as { service: string }[]).map((r) => r.service), ["litellm"]);

        const unknown = await runHealth(["--outputs", file, "--machine", "nope"]);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /no services on machine "nope" \(machines: kratos, orpheus\)/);
    });

    it("exits 2 with a clear message and no stack trace when the outputs cannot be read", async () => {
        const notJson = path.join(dir, "broken.json");
        fs.writeFileSync(notJson, "Current stack is homelab:\n");
        const noServices = path.join(dir, "no-services.json");
        fs.writeFileSync(noServices, JSON.stringify({ openWebUiUrl: "http://x" }));
        for (const [args, message] of [
            [["--outputs", path.join(dir, "missing.json")], /cannot read the outputs file .*missing\.json: ENOENT/],
            [["--outputs", notJson], /not JSON/],
            [["--outputs", noServices], /no usable "services" output/],
            [["--outputs", noServices, "--timeout-ms", "soon"], /--timeout-ms must be a positive whole number/],
        ] as const) {
            const run = await runHealth([...args]);
            assert.equal(run.code, 2, `${args.join(" ")}: ${run.stdout}`);
            assert.match(run.stderr, message);
            assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
        }
    });

    it("reads the outputs from `pulumi stack output --json` of the chosen stack, and exits 2 when that fails", async () => {
        const file = outputsFile("from-cli", { litellm: { machine: "orpheus", healthUrl: urls.ok } });
        const pulumi = path.join(dir, "pulumi");
        fs.writeFileSync(pulumi, `#!/bin/sh\necho "$*" > "${dir}/pulumi-args"\nif [ "$4" = --stack ] && [ "$5" = broken ]; then echo 'error: no stack named broken found' >&2; exit 255; fi\ncat "${file}"\n`, { mode: 0o755 });
        const run = await runHealth(["--stack", "homelab", "--json"], { PULUMI: pulumi });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(fs.readFileSync(path.join(dir, "pulumi-args"), "utf8").trim(), "stack output --json --stack homelab");
        assert.equal((JSON.parse(run.stdout) as { service: string }[])[0].service, "litellm");

        const broken = await runHealth(["--stack", "broken"], { PULUMI: pulumi });
        assert.equal(broken.code, 2);
        assert.match(broken.stderr, /`pulumi stack output --json` failed: error: no stack named broken found/);
        assert.doesNotMatch(broken.stderr, /\n\s+at /);
    });
});
