import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/**
 * A real Alertmanager on loopback, for the receiver tests: Debian's package (0.25 on Debian 12),
 * and the image's version (0.28.1) where it was built from the Go module proxy (.ci/run does:
 * `go install github.com/prometheus/alertmanager/cmd/alertmanager@v0.28.1`).
 */

export interface AlertmanagerBinary {
    readonly label: string;
    readonly path: string;
    /** Whether it reads every `*_file` option the renderer uses (0.27+). */
    readonly credentialFiles: boolean;
}

/** Where .ci/run installs the image's version; ALERTMANAGER_0_28 overrides. */
export const alertmanager028 = process.env.ALERTMANAGER_0_28 ?? path.join(os.homedir(), ".cache", "ai-platform", "alertmanager-v0.28.1", "alertmanager");

export function alertmanagerBinaries(): { found: AlertmanagerBinary[]; missing: string[] } {
    const candidates: AlertmanagerBinary[] = [
        { label: "Debian's prometheus-alertmanager", path: "/usr/bin/prometheus-alertmanager", credentialFiles: false },
        { label: "Alertmanager v0.28.1 (the image's version)", path: alertmanager028, credentialFiles: true },
    ];
    const runs = (binary: AlertmanagerBinary) => fs.existsSync(binary.path) && spawnSync(binary.path, ["--version"], { encoding: "utf8" }).status === 0;
    return {
        found: candidates.filter(runs),
        missing: candidates.filter((c) => !runs(c)).map((c) => `${c.label} (${c.path})`),
    };
}

async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

/** Polls `check` until it returns a value, for at most `limitMs`; then fails saying what it waited for. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, limitMs = 60_000): Promise<T> {
    const deadline = Date.now() + limitMs;
    for (;;) {
        const value = await check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`gave up waiting (${limitMs / 1000}s) for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

export interface RunningAlertmanager {
    readonly url: string;
    /** Everything it logged so far. */
    logs(): string;
    stop(): Promise<void>;
}

/** Starts Alertmanager on a loopback port with the given config file, clustering off, and waits until it is ready. */
export async function startAlertmanager(binary: AlertmanagerBinary, configFile: string): Promise<RunningAlertmanager> {
    const port = await freePort();
    const storage = fs.mkdtempSync(path.join(os.tmpdir(), "ai-alertmanager-data-"));
    let output = "";
    const child: ChildProcess = spawn(
        binary.path,
        [`--config.file=${configFile}`, `--storage.path=${storage}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address=", "--log.level=debug"],
        { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    const stop = async () => {
        if (child.exitCode === null) child.kill("SIGTERM");
        await exited;
    };
    try {
        await waitFor(`${binary.label} to answer /-/ready`, async () => {
            if (child.exitCode !== null) throw new Error(`${binary.label} exited: ${output}`);
            try {
                return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
            } catch {
                return undefined;
            }
        });
    } catch (error) {
        await stop();
        throw error;
    }
    return { url, logs: () => output, stop };
}

export interface TestAlert {
    readonly labels: Record<string, string>;
    readonly annotations?: Record<string, string>;
    /** In the past: the alert is resolved. */
    readonly endsAt?: string;
}

/** Posts alerts to Alertmanager's v2 API, as Prometheus does. */
export async function postAlerts(url: string, alerts: readonly TestAlert[]): Promise<void> {
    const response = await fetch(`${url}/api/v2/alerts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alerts.map((a) => ({ labels: a.labels, annotations: a.annotations ?? {}, generatorURL: "http://prometheus.lab.internal/graph", ...(a.endsAt === undefined ? {} : { endsAt: a.endsAt }) }))),
    });
    if (!response.ok) throw new Error(`POST /api/v2/alerts: ${response.status} ${await response.text()}`);
}

/** The receivers Alertmanager routed each alert to, by alert name (its v2 API). */
export async function receiversByAlert(url: string): Promise<Record<string, string[]>> {
    const response = await fetch(`${url}/api/v2/alerts`);
    const alerts = (await response.json()) as { labels: Record<string, string>; receivers: { name: string }[] }[];
    return Object.fromEntries(alerts.map((a) => [a.labels.alertname, a.receivers.map((r) => r.name).sort()]));
}
