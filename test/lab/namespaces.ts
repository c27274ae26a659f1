import { ChildProcess, execFile, spawn } from "node:child_process";

/**
 * A lab of network namespaces on one host, for tests that need a real network and a real packet
 * filter without a real lab. The LAN is a bridge inside a namespace of its own, so the host's
 * own network, routes and firewall are never touched, and traffic only flows between namespaces
 * this lab created. Every wait is bounded; `cleanup()` removes everything the lab made and is
 * safe to call at any point, twice, or after a failed setup.
 */

/** Result of a command in a namespace. */
export interface ExecResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** What a connection attempt ended with: connected, refused (RST or ICMP unreachable), or neither within the bound. */
export type ProbeOutcome = "open" | "refused" | "timeout" | string;

const commandTimeoutMs = 20_000;
/** How long a probe waits for a connection before calling it `timeout` (never a pass: a refusal must be a refusal). */
export const connectTimeoutMs = 3_000;

/** Runs a command (as the current user: root) with a bounded wait. */
export function run(file: string, args: readonly string[], input?: string): Promise<ExecResult> {
    return new Promise((resolve) => {
        const child = execFile(file, [...args], { timeout: commandTimeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
            const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
            resolve({ code, stdout, stderr: error !== null && error.killed ? `${stderr}\n(killed after ${commandTimeoutMs} ms)` : stderr });
        });
        if (input !== undefined) child.stdin?.end(input);
    });
}

async function must(file: string, args: readonly string[], input?: string): Promise<ExecResult> {
    const result = await run(file, args, input);
    if (result.code !== 0) throw new Error(`${file} ${args.join(" ")} failed (${result.code}): ${result.stderr.trim()}`);
    return result;
}

const listenerSource = `
const net = require("node:net");
const targets = JSON.parse(process.env.LAB_LISTEN);
let ready = 0;
for (const [host, port] of targets) {
    // A probe closes at once (often with a reset): a socket error ends that socket, never the listener.
    const server = net.createServer((socket) => { socket.on("error", () => socket.destroy()); socket.end("ok\\n"); });
    server.on("error", (error) => { console.error(host + ":" + port + " " + error.message); process.exit(1); });
    server.listen(port, host, () => { if (++ready === targets.length) console.log("ready"); });
}
`;

const probeSource = `
const net = require("node:net");
const targets = JSON.parse(process.env.LAB_PROBE);
const timeoutMs = Number(process.env.LAB_TIMEOUT_MS);
Promise.all(targets.map(([host, port]) => new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => { socket.destroy(); resolve("timeout"); }, timeoutMs);
    socket.on("connect", () => { clearTimeout(timer); socket.destroy(); resolve("open"); });
    socket.on("error", (error) => { clearTimeout(timer); resolve(error.code === "ECONNREFUSED" || error.code === "ECONNRESET" ? "refused" : String(error.code)); });
}))).then((outcomes) => console.log(JSON.stringify(outcomes)));
`;

export class NamespaceLab {
    /** The namespace holding the LAN bridge. */
    public readonly lan: string;
    private readonly namespaces: string[] = [];
    private readonly listeners: ChildProcess[] = [];
    private links = 0;

    /** `tag`: a short name unique to this run (a few characters: it is part of interface names). */
    constructor(private readonly tag: string) {
        this.lan = `${tag}-lan`;
    }

    /** Creates the LAN namespace and its bridge. */
    public async start(): Promise<void> {
        await this.addNamespace(this.lan);
        await this.exec(this.lan, "ip", ["link", "add", "name", "br0", "type", "bridge"]);
        await this.exec(this.lan, "ip", ["link", "set", "br0", "up"]);
    }

    /** The namespaces this lab made, for a test that wants to say so. */
    public get created(): readonly string[] {
        return [...this.namespaces];
    }

    /** A namespace on the LAN with `address/prefix` on its `eth0`. */
    public async addNode(name: string, address: string, prefix: number): Promise<void> {
        await this.addNamespace(name);
        const [lanEnd, nodeEnd] = this.linkNames();
        await must("ip", ["link", "add", "name", lanEnd, "type", "veth", "peer", "name", nodeEnd]);
        await must("ip", ["link", "set", lanEnd, "netns", this.lan]);
        await must("ip", ["link", "set", nodeEnd, "netns", name]);
        await this.exec(this.lan, "ip", ["link", "set", lanEnd, "master", "br0", "up"]);
        await this.exec(name, "ip", ["link", "set", nodeEnd, "name", "eth0"]);
        await this.exec(name, "ip", ["addr", "add", `${address}/${prefix}`, "dev", "eth0"]);
        await this.exec(name, "ip", ["link", "set", "eth0", "up"]);
    }

    /**
     * A namespace behind `host`, as a container behind dockerd's bridge: `hostAddress` on the host's
     * `dk0`, `containerAddress` on the container's `eth0`, default route through the host, and
     * forwarding on in the host.
     */
    public async addContainer(host: string, name: string, hostAddress: string, containerAddress: string, prefix: number): Promise<void> {
        await this.addNamespace(name);
        const [hostEnd, containerEnd] = this.linkNames();
        await must("ip", ["link", "add", "name", hostEnd, "type", "veth", "peer", "name", containerEnd]);
        await must("ip", ["link", "set", hostEnd, "netns", host]);
        await must("ip", ["link", "set", containerEnd, "netns", name]);
        await this.exec(host, "ip", ["link", "set", hostEnd, "name", "dk0"]);
        await this.exec(host, "ip", ["addr", "add", `${hostAddress}/${prefix}`, "dev", "dk0"]);
        await this.exec(host, "ip", ["link", "set", "dk0", "up"]);
        await this.exec(host, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
        await this.exec(name, "ip", ["link", "set", containerEnd, "name", "eth0"]);
        await this.exec(name, "ip", ["addr", "add", `${containerAddress}/${prefix}`, "dev", "eth0"]);
        await this.exec(name, "ip", ["link", "set", "eth0", "up"]);
        await this.exec(name, "ip", ["route", "add", "default", "via", hostAddress]);
    }

    /** Runs a command in a namespace; throws when it fails. */
    public exec(namespace: string, file: string, args: readonly string[], input?: string): Promise<ExecResult> {
        return must("ip", ["netns", "exec", namespace, file, ...args], input);
    }

    /** Runs a command in a namespace and returns whatever it ended with. */
    public try(namespace: string, file: string, args: readonly string[], input?: string): Promise<ExecResult> {
        return run("ip", ["netns", "exec", namespace, file, ...args], input);
    }

    /** TCP listeners in a namespace that answer every connection; resolves once all listen (bounded). */
    public listen(namespace: string, targets: readonly (readonly [string, number])[]): Promise<void> {
        const child = spawn("ip", ["netns", "exec", namespace, process.execPath, "-e", listenerSource], {
            env: { ...process.env, LAB_LISTEN: JSON.stringify(targets) },
            stdio: ["ignore", "pipe", "pipe"],
        });
        this.listeners.push(child);
        return new Promise((resolve, reject) => {
            let stderr = "";
            const timer = setTimeout(() => reject(new Error(`listeners in ${namespace} not ready after ${commandTimeoutMs} ms: ${stderr}`)), commandTimeoutMs);
            child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
            child.stdout?.on("data", (chunk: Buffer) => {
                if (chunk.toString().includes("ready")) {
                    clearTimeout(timer);
                    resolve();
                }
            });
            child.on("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`listeners in ${namespace} exited (${code}): ${stderr}`));
            });
        });
    }

    /** Tries a TCP connection from a namespace to each target, all at once; one outcome per target. */
    public async probe(namespace: string, targets: readonly (readonly [string, number])[]): Promise<ProbeOutcome[]> {
        const result = await run("env", [`LAB_PROBE=${JSON.stringify(targets)}`, `LAB_TIMEOUT_MS=${connectTimeoutMs}`, "ip", "netns", "exec", namespace, process.execPath, "-e", probeSource]);
        if (result.code !== 0) throw new Error(`probe from ${namespace} failed: ${result.stderr}`);
        return JSON.parse(result.stdout) as ProbeOutcome[];
    }

    /** Stops the listeners and deletes every namespace (and with them every interface) this lab made. */
    public async cleanup(): Promise<void> {
        for (const child of this.listeners.splice(0)) {
            if (child.exitCode === null && child.pid !== undefined) child.kill("SIGKILL");
        }
        for (const namespace of this.namespaces.splice(0).reverse()) await run("ip", ["netns", "del", namespace]);
    }

    private async addNamespace(name: string): Promise<void> {
        await must("ip", ["netns", "add", name]);
        this.namespaces.push(name);
        await this.exec(name, "ip", ["link", "set", "lo", "up"]);
    }

    /** Two fresh interface names (at most 15 characters), unique in this lab. */
    private linkNames(): [string, string] {
        const n = this.links++;
        return [`${this.tag}${n}a`, `${this.tag}${n}b`];
    }
}
