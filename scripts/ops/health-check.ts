import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { z } from "zod";

/** One entry of the `services` stack output (see components/catalog/catalog.ts servicesOutput). */
const serviceSchema = z.object({
    service: z.string(),
    machine: z.string(),
    url: z.string(),
    healthUrl: z.string(),
});

const outputsSchema = z.object({ services: z.record(z.string(), serviceSchema) });

/** A service instance to probe. */
export interface Target {
    /** The instance name (the key of the `services` output), e.g. `ollama-orpheus`. */
    readonly service: string;
    readonly machine: string;
    /** The health URL probed: `http(s)://...` (GET) or `tcp://host:port` (connect). */
    readonly url: string;
}

/** The outcome of one probe, as printed by `--json`. */
export interface ProbeResult extends Target {
    readonly healthy: boolean;
    /** The HTTP status code, or null for TCP probes and failures before a response. */
    readonly status: number | null;
    /** Milliseconds until the answer (or the failure). */
    readonly ms: number;
    readonly error: string | null;
}

/** The probe targets from `pulumi stack output --json`, or an error saying what is wrong with it. */
export function parseTargets(text: string): { ok: true; targets: Target[] } | { ok: false; error: string } {
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (error) {
        return { ok: false, error: `the stack outputs are not JSON (${(error as Error).message})` };
    }
    const parsed = outputsSchema.safeParse(json);
    if (!parsed.success) {
        const first = parsed.error.issues[0];
        const where = first === undefined ? "" : ` at ${first.path.map(String).join(".") || "(root)"}: ${first.message}`;
        return { ok: false, error: `the stack outputs have no usable "services" output${where}` };
    }
    const targets = Object.entries(parsed.data.services).map(([instance, entry]) => ({ service: instance, machine: entry.machine, url: entry.healthUrl }));
    return { ok: true, targets };
}

/** Probes one health URL: HTTP(S) GET is healthy on 2xx/3xx, `tcp://` is healthy when a connection opens. */
export function probe(target: Target, timeoutMs: number): Promise<ProbeResult> {
    const started = Date.now();
    return new Promise((resolve) => {
        let settled = false;
        let cleanup: () => void = () => undefined;
        const finish = (healthy: boolean, status: number | null, error: string | null): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            cleanup();
            resolve({ ...target, healthy, status, ms: Date.now() - started, error });
        };
        const timer = setTimeout(() => finish(false, null, `no answer within ${timeoutMs} ms`), timeoutMs);

        let url: URL;
        try {
            url = new URL(target.url);
        } catch {
            finish(false, null, `not a URL: ${target.url}`);
            return;
        }
        if (url.protocol === "tcp:") {
            const socket = net.connect({ host: url.hostname, port: Number(url.port) });
            cleanup = () => socket.destroy();
            socket.once("connect", () => finish(true, null, null));
            socket.once("error", (error) => finish(false, null, describe(error)));
        } else if (url.protocol === "http:" || url.protocol === "https:") {
            const client = url.protocol === "https:" ? https : http;
            const request = client.get(url, (response) => {
                const status = response.statusCode ?? 0;
                response.resume();
                finish(status >= 200 && status < 400, status, status >= 200 && status < 400 ? null : `HTTP ${status}`);
            });
            cleanup = () => request.destroy();
            request.once("error", (error) => finish(false, null, describe(error)));
        } else {
            finish(false, null, `unsupported scheme ${url.protocol} (expected http, https or tcp)`);
        }
    });
}

function describe(error: NodeJS.ErrnoException): string {
    if (error.code === "ECONNREFUSED") return "connection refused";
    if (error.code === "EHOSTUNREACH") return "host unreachable";
    if (error.code === "ENOTFOUND") return "host not found";
    return error.code === undefined ? error.message : `${error.code}: ${error.message}`;
}

/** A readable table, one block per machine (machines and services sorted by name). */
export function formatTable(results: readonly ProbeResult[]): string {
    const machines = [...new Set(results.map((r) => r.machine))].sort();
    const width = Math.max(7, ...results.map((r) => r.service.length));
    const lines: string[] = [];
    for (const machine of machines) {
        lines.push(machine);
        const rows = results.filter((r) => r.machine === machine).sort((a, b) => a.service.localeCompare(b.service));
        for (const r of rows) {
            const state = r.healthy ? "ok  " : "FAIL";
            const detail = r.error ?? (r.status === null ? "open" : `HTTP ${r.status}`);
            lines.push(`  ${state}  ${r.service.padEnd(width)}  ${`${r.ms} ms`.padStart(8)}  ${detail.padEnd(20)}  ${r.url}`);
        }
    }
    const unhealthy = results.filter((r) => !r.healthy).length;
    lines.push("", unhealthy === 0 ? `all ${results.length} services healthy` : `${unhealthy} of ${results.length} services unhealthy`);
    return lines.join("\n");
}
