import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { renderInstallScript, renderRemoveScript } from "../../components/firewall/iptables";
import { firewallPolicy, MachineFirewall } from "../../components/firewall/policy";
import { validatePlatform } from "../../config/platform";
import { place } from "../../machines/placement";
import { NamespaceLab, ProbeOutcome, run } from "./namespaces";
import { labAddresses as A, labPrefix, labStack } from "./stack";

/**
 * The host firewall proven on a real network: each lab machine is a network namespace on a
 * bridge, with the rules the program renders for it installed by the very script the program
 * runs on the machine. Docker is emulated where it matters to the packet filter: each machine has
 * a "container" namespace behind a `dk0` link, published ports are DNATed to it in PREROUTING and
 * forwarded through FORWARD -> DOCKER-USER (as dockerd sets up), so the AI-PLATFORM chain sees the
 * packet after DNAT, as on a real host; host-network services listen in the machine's namespace
 * itself (INPUT). No dockerd runs: what is proven is the packet filter, not the containers.
 * UDP (DNS) is syntax-checked elsewhere, not probed here.
 */

type Machine = "db" | "replica" | "gpu" | "cpu" | "mon";
const machines: readonly Machine[] = ["db", "replica", "gpu", "cpu", "mon"];
const tag = `af${process.pid % 100000}`;
const lab = new NamespaceLab(tag);
const nsOf = (name: Machine | "admin" | "guest") => `${tag}-${name}`;
const containerNs = (machine: Machine) => `${tag}-${machine}-c`;
const bridgeAddress = "172.31.0.1";
const containerAddress = "172.31.0.2";
const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "ai-platform-fw-"));
const installOptions = (machine: string) => ({ stateDir: path.join(stateRoot, machine), systemd: false });
/** A port that is not the platform's, opened by a rule that is not the platform's. */
const foreignPort = 2222;
const foreignComment = "someone else";

function policyFor(stack: Record<string, unknown>): Map<string, MachineFirewall> {
    const result = validatePlatform(stack);
    if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
    return new Map(firewallPolicy(place(result.config), result.config).map((fw) => [fw.machine, fw]));
}
const policies = policyFor(labStack);
/** Every TCP port the platform publishes on each machine: what the test listens on. */
const tcpPorts = (machine: Machine) => (policies.get(machine)?.ports ?? []).filter((p) => p.protocol === "tcp");

async function install(machine: Machine, fw: MachineFirewall | undefined = policies.get(machine)): Promise<void> {
    assert.ok(fw);
    await lab.exec(nsOf(machine), "sh", ["-s"], renderInstallScript(fw, installOptions(machine)));
}

/** The filter table as the kernel has it, without counters. */
async function filterTable(machine: Machine): Promise<string> {
    const saved = await lab.exec(nsOf(machine), "iptables-save", ["-t", "filter"]);
    return saved.stdout
        .split("\n")
        .filter((line) => !line.startsWith("#"))
        .map((line) => line.replace(/\[\d+:\d+\]/, "[0:0]"))
        .join("\n");
}

type Path = readonly [from: Machine | "admin" | "guest", to: Machine, port: number];

/** Probes every path (grouped by source, all at once) and lists every one whose outcome is not `expected`. */
async function mismatches(paths: readonly Path[], expected: ProbeOutcome): Promise<string[]> {
    const bySource = new Map<string, Path[]>();
    for (const p of paths) bySource.set(p[0], [...(bySource.get(p[0]) ?? []), p]);
    const wrong: string[] = [];
    for (const [from, group] of bySource) {
        const outcomes = await lab.probe(nsOf(from as Machine), group.map(([, to, port]) => [A[to], port] as const));
        group.forEach(([, to, port], i) => {
            if (outcomes[i] !== expected) wrong.push(`${from} -> ${to}:${port} ${outcomes[i]} (expected ${expected})`);
        });
    }
    return wrong;
}

const publicPorts: readonly Path[] = [
    ["guest", "db", 80],
    ["guest", "db", 443],
    ["guest", "db", 53],
];

describe("the host firewall on a lab of network namespaces", () => {
    before(async () => {
        assert.equal(process.getuid?.(), 0, "the lab tests create network namespaces: run them as root");
        for (const tool of ["ip", "iptables", "iptables-restore", "iptables-save"]) {
            const found = await run("sh", ["-c", `command -v ${tool}`]);
            assert.equal(found.code, 0, `${tool} is missing: apt-get install iptables iproute2`);
        }
        await lab.start();
        for (const name of ["admin", "guest"] as const) await lab.addNode(nsOf(name), A[name], labPrefix);
        for (const machine of machines) {
            const host = nsOf(machine);
            await lab.addNode(host, A[machine], labPrefix);
            await lab.addContainer(host, containerNs(machine), bridgeAddress, containerAddress, labPrefix);
            // What dockerd sets up: DOCKER-USER jumped to from FORWARD, and a DNAT per published port.
            const published = tcpPorts(machine).filter((p) => p.path === "published");
            const rules = [
                "*nat",
                ...published.map((p) => `-A PREROUTING -d ${A[machine]}/32 -p tcp -m tcp --dport ${p.port} -j DNAT --to-destination ${containerAddress}:${p.port}`),
                "COMMIT",
                "*filter",
                ":DOCKER-USER - [0:0]",
                "-A FORWARD -j DOCKER-USER",
                // Rules of someone else's, which the platform must leave alone.
                `-A DOCKER-USER -s 10.213.0.250/32 -m comment --comment "${foreignComment}" -j RETURN`,
                `-A INPUT -p tcp -m tcp --dport ${foreignPort} -m comment --comment "${foreignComment}" -j ACCEPT`,
                "COMMIT",
                "",
            ];
            await lab.exec(host, "iptables-restore", ["--noflush"], rules.join("\n"));
            await lab.listen(containerNs(machine), published.map((p) => ["0.0.0.0", p.port] as const));
            const onHost = tcpPorts(machine).filter((p) => p.path === "host").map((p) => [A[machine], p.port] as const);
            await lab.listen(host, [...onHost, [A[machine], 22], [A[machine], foreignPort]]);
        }
    });

    after(async () => {
        if (process.env.LAB_KEEP) return;
        await lab.cleanup();
        fs.rmSync(stateRoot, { recursive: true, force: true });
    });

    test("without the platform's rules, a guest device reaches Ollama, Loki, Alertmanager, Prometheus, PostgreSQL and the exporters", async () => {
        const open: Path[] = [
            ["guest", "cpu", 11434],
            ["guest", "mon", 3100],
            ["guest", "mon", 9093],
            ["guest", "mon", 9090],
            ["guest", "db", 5432],
            ["guest", "db", 9187],
            ["guest", "gpu", 9100],
            ["guest", "gpu", 8080],
        ];
        assert.deepEqual(await mismatches(open, "open"), []);
    });

    test("installing the rules twice leaves the same filter table, with one jump to each chain", async () => {
        for (const machine of machines) await install(machine);
        const first = await Promise.all(machines.map(filterTable));
        for (const machine of machines) await install(machine);
        const second = await Promise.all(machines.map(filterTable));
        assert.deepEqual(second, first);
        for (const table of second) {
            assert.equal(table.split("\n").filter((l) => l === "-A DOCKER-USER -j AI-PLATFORM").length, 1, table);
            assert.equal(table.split("\n").filter((l) => l === "-A INPUT -j AI-PLATFORM-INPUT").length, 1, table);
        }
    });

    test("every path the platform needs connects", async () => {
        const needed: Path[] = [
            // LiteLLM (gpu) -> the other inference node's Ollama
            ["gpu", "cpu", 11434],
            // the replica streams from the primary; LiteLLM and Open WebUI (gpu) and Grafana (mon) use their databases
            ["replica", "db", 5432],
            ["gpu", "db", 5432],
            ["mon", "db", 5432],
            // Prometheus (mon) scrapes every exporter; the blackbox exporter probes health URLs
            ...machines.filter((m) => m !== "mon").flatMap((m): Path[] => [["mon", m, 9100], ["mon", m, 8080], ["mon", m, 12345]]),
            ["mon", "db", 9187],
            ["mon", "replica", 9187],
            ["mon", "gpu", 9400],
            ["mon", "cpu", 11434],
            ["mon", "replica", 5432],
            ["mon", "db", 9153],
            ["mon", "db", 8082],
            // Alloy on every machine -> Loki
            ...machines.filter((m) => m !== "mon").map((m): Path => [m, "mon", 3100]),
            // Traefik (db) -> every routed backend
            ["db", "gpu", 3000],
            ["db", "gpu", 4000],
            ["db", "replica", 8000],
            ["db", "mon", 9090],
            ["db", "mon", 9093],
            ["db", "mon", 3001],
            // Open WebUI (gpu) -> the tool servers through Traefik's LAN entrypoint
            ["gpu", "db", 8001],
            // people -> Traefik and DNS
            ...publicPorts,
        ];
        assert.deepEqual(await mismatches(needed, "open"), []);
    });

    test("a guest device is refused on every port of the platform but the edge's HTTP(S) and DNS, and still reaches SSH", async () => {
        const isPublic = (m: Machine, port: number) => publicPorts.some(([, to, p]) => to === m && p === port);
        const refused = machines.flatMap((m) => tcpPorts(m).filter((p) => !isPublic(m, p.port)).map((p): Path => ["guest", m, p.port]));
        assert.ok(refused.length >= 30, `${refused.length} ports`);
        for (const port of [11434, 3100, 9093, 9090, 5432, 9100, 8080, 9187, 9400]) assert.ok(refused.some(([, , p]) => p === port), `port ${port} is among the probed`);
        assert.deepEqual(await mismatches(refused, "refused"), []);
        assert.deepEqual(await mismatches(machines.map((m): Path => ["guest", m, 22]), "open"), []);
    });

    test("a machine is refused where it is not a peer", async () => {
        const notPeers: Path[] = [
            ["replica", "cpu", 11434],
            ["db", "cpu", 11434],
            ["cpu", "gpu", 11434],
            ["replica", "mon", 9090],
            ["replica", "mon", 9093],
            ["gpu", "mon", 9093],
            ["cpu", "mon", 9090],
            ["cpu", "db", 5432],
            ["db", "replica", 5432],
            ["replica", "gpu", 4000],
            ["cpu", "db", 9187],
            ["db", "gpu", 9400],
            ["replica", "db", 9100],
            ["gpu", "cpu", 9100],
            ["cpu", "mon", 3001],
        ];
        assert.deepEqual(await mismatches(notPeers, "refused"), []);
    });

    test("the operator's workstation (adminCidrs) reaches every port", async () => {
        const all = machines.flatMap((m) => tcpPorts(m).map((p): Path => ["admin", m, p.port]));
        assert.deepEqual(await mismatches(all, "open"), []);
    });

    test("rules that are not the platform's stay, and keep working", async () => {
        for (const machine of machines) {
            const table = await filterTable(machine);
            assert.match(table, new RegExp(`-A DOCKER-USER -s 10.213.0.250/32 .*${foreignComment}`));
            assert.match(table, new RegExp(`-A INPUT -p tcp -m tcp --dport ${foreignPort} .*${foreignComment}`));
        }
        assert.deepEqual(await mismatches(machines.map((m): Path => ["guest", m, foreignPort]), "open"), []);
    });

    test("a changed policy refills the chains in place", async () => {
        const widened = policyFor({ ...labStack, adminCidrs: [`${A.admin}/32`, `${A.guest}/32`] });
        await install("cpu", widened.get("cpu"));
        assert.deepEqual(await mismatches([["guest", "cpu", 11434]], "open"), []);
        await install("cpu");
        assert.deepEqual(await mismatches([["guest", "cpu", 11434]], "refused"), []);
        assert.equal((await filterTable("cpu")).split("\n").filter((l) => l === "-A DOCKER-USER -j AI-PLATFORM").length, 1);
    });

    test("removing the rules takes exactly the platform's chains and jumps, and is safe to repeat", async () => {
        const before = await filterTable("gpu");
        for (let i = 0; i < 2; i++) {
            for (const machine of machines) {
                const removed = await lab.try(nsOf(machine), "sh", ["-c", renderRemoveScript(installOptions(machine))]);
                assert.equal(removed.code, 0, removed.stderr);
            }
        }
        for (const machine of machines) {
            const table = await filterTable(machine);
            assert.doesNotMatch(table, /AI-PLATFORM/, machine);
            assert.match(table, new RegExp(foreignComment));
            assert.ok(!fs.existsSync(path.join(installOptions(machine).stateDir, "firewall.sh")));
        }
        const kept = before.split("\n").filter((l) => !l.includes("AI-PLATFORM"));
        assert.deepEqual((await filterTable("gpu")).split("\n"), kept, "everything else is as it was");
        assert.deepEqual(await mismatches([["guest", "cpu", 11434], ["guest", "mon", 3100], ["guest", "db", 5432]], "open"), []);
    });
});
