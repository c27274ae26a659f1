import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { renderApplyScript, renderInstallScript, renderRemoveScript, renderRules } from "../../components/firewall/iptables";
import { firewallPolicy, MachineFirewall } from "../../components/firewall/policy";
import { validatePlatform } from "../../config/platform";
import { hostNetworkServices } from "../../machines/peers";
import { place } from "../../machines/placement";
import { ofType, ProgramRun, readStackConfig, RegisteredResource, runProgram, StackConfig, types } from "../harness/program";
import { labStack } from "../lab/stack";

const homelab: StackConfig = { ...readStackConfig("Pulumi.homelab.yaml") };
const machineNames = Object.keys(homelab.machines as object);
const address = (machine: string) => (homelab.machines as Record<string, { address: string }>)[machine].address;

function policyOf(stack: StackConfig): MachineFirewall[] {
    const result = validatePlatform(stack);
    if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
    return firewallPolicy(place(result.config), result.config);
}

/** Whether a machine's policy admits `from` to `port` (a /32 or a range that holds it). */
function admits(fw: MachineFirewall, port: number, from: string): boolean {
    const toNumber = (a: string) => a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    const inside = (cidr: string) => {
        const [net, bits] = cidr.split("/");
        const size = 2 ** (32 - Number(bits));
        return Math.floor(toNumber(net) / size) === Math.floor(toNumber(from) / size);
    };
    const rule = fw.ports.find((p) => p.port === port && p.protocol === "tcp");
    return rule !== undefined && rule.sources.some((s) => inside(s.cidr));
}

const stacks: [string, StackConfig][] = [
    ["homelab", homelab],
    ["homelab with adminCidrs", { ...homelab, adminCidrs: ["192.168.10.50/32", "10.8.0.0/24"] }],
    ["homelab without a NAS", { ...homelab, nas: undefined, ollama: {} }],
    ["the namespace lab", labStack],
];

describe("the rendered host firewall, checked by the real tools", () => {
    for (const [name, stack] of stacks) {
        test(`iptables-restore --test accepts every machine's rules: ${name}`, () => {
            for (const fw of policyOf(stack)) {
                const rules = renderRules(fw, "eth0");
                const checked = spawnSync("iptables-restore", ["--test", "--noflush"], { input: rules, encoding: "utf8" });
                assert.equal(checked.error, undefined, "iptables-restore is missing: apt-get install iptables");
                assert.equal(checked.status, 0, `${fw.machine}: ${checked.stderr}\n${rules}`);
            }
        });
    }

    test("iptables-restore --test rejects a broken rule (the check can fail)", () => {
        const [fw] = policyOf(labStack);
        const broken = renderRules(fw, "eth0").replace("--ctorigdstport", "--ctorigdstprot");
        const checked = spawnSync("iptables-restore", ["--test", "--noflush"], { input: broken, encoding: "utf8" });
        assert.notEqual(checked.status, 0);
    });

    test("the apply, install and remove scripts pass sh -n and shellcheck", () => {
        const fw = policyOf(homelab).find((m) => m.machine === "orpheus");
        assert.ok(fw);
        for (const [what, script] of [
            ["apply", renderApplyScript(fw)],
            ["install", `#!/bin/sh\n${renderInstallScript(fw)}`],
            ["remove", `#!/bin/sh\n${renderRemoveScript()}`],
        ] as const) {
            execFileSync("sh", ["-n"], { input: script });
            const checked = spawnSync("shellcheck", ["-s", "sh", "-"], { input: script, encoding: "utf8" });
            assert.equal(checked.error, undefined, "shellcheck is missing: apt-get install shellcheck");
            assert.equal(checked.status, 0, `${what}: ${checked.stdout}`);
        }
    });
});

describe("the host firewall's policy", () => {
    const homelabPolicy = new Map(policyOf({ ...homelab, adminCidrs: ["192.168.10.50/32"] }).map((fw) => [fw.machine, fw]));

    test("admits only LiteLLM's machine, the monitoring machine and the admins to an Ollama node", () => {
        const kratos = homelabPolicy.get("kratos");
        assert.ok(kratos);
        const ollama = kratos.ports.find((p) => p.service === "ollama");
        assert.deepEqual(ollama?.sources.map((s) => s.cidr), ["192.168.10.21/32", "192.168.10.31/32", "192.168.10.50/32"]);
        assert.equal(ollama?.path, "published");
    });

    test("opens only Traefik's HTTP(S) and DNS to the whole LAN", () => {
        const lanWide = [...homelabPolicy.values()].flatMap((fw) => fw.ports.filter((p) => p.sources.some((s) => s.cidr === "192.168.10.0/24")).map((p) => `${fw.machine}:${p.port}/${p.protocol}`));
        assert.deepEqual(lanWide.sort(), ["hephaestus:443/tcp", "hephaestus:53/tcp", "hephaestus:53/udp", "hephaestus:80/tcp"]);
    });

    test("without an edge, the UIs with their own login are opened to the LAN and the admin UIs are not", () => {
        const machines = { ...(homelab.machines as Record<string, object>), hephaestus: { address: "192.168.10.12", roles: ["tools"] } };
        const policy = new Map(policyOf({ ...homelab, machines }).map((fw) => [fw.machine, fw]));
        const lan = (machine: string, service: string) => policy.get(machine)?.ports.find((p) => p.service === service)?.sources.some((s) => s.cidr === "192.168.10.0/24");
        assert.equal(lan("orpheus", "open-webui"), true);
        assert.equal(lan("moros", "grafana"), true);
        assert.equal(lan("moros", "prometheus"), false);
        assert.equal(lan("moros", "alertmanager"), false);
        assert.equal(lan("orpheus", "ollama"), false);
    });

    test("admits every machine's Alloy to Loki, and never a machine to its own ports (that traffic does not cross the LAN)", () => {
        const loki = homelabPolicy.get("moros")?.ports.find((p) => p.service === "loki");
        const others = machineNames.filter((m) => m !== "moros").map(address);
        for (const other of others) assert.ok(loki?.sources.some((s) => s.cidr === `${other}/32`), other);
        for (const fw of homelabPolicy.values()) for (const port of fw.ports) assert.ok(!port.sources.some((s) => s.cidr === `${fw.address}/32` && s.why !== "adminCidrs"), `${fw.machine}:${port.port}`);
    });
});

describe("the host firewall in the program, under mocks", () => {
    let run: ProgramRun;
    const withAdmin = { ...homelab, adminCidrs: ["192.168.10.50/32"] };
    const firewallOf = (r: ProgramRun, machine: string) => ofType(r, types.command).find((c) => c.name === `${machine}-firewall`);
    before(async () => {
        run = await runProgram(withAdmin);
        assert.equal(run.error, undefined, run.error?.message);
    });

    test("installs each machine's rules after its preflight, as root, replaced delete-first, and every container waits for them", () => {
        for (const machine of machineNames) {
            const fw = firewallOf(run, machine);
            assert.ok(fw, `${machine}-firewall`);
            assert.equal(fw.parent, machine);
            assert.ok(fw.dependsOn.includes(`${machine}-preflight`));
            assert.equal(fw.deleteBeforeReplace, true);
            assert.equal(fw.inputs.triggers, undefined, "a changed policy must update (refill), not replace");
            assert.match(String(fw.inputs.create), /sudo -n sh -s/);
            assert.match(String(fw.inputs.stdin), /iptables-restore -w --noflush/);
            assert.match(String(fw.inputs.delete), /iptables -w -X "\$chain"/);
        }
        for (const container of ofType(run, types.container)) {
            const machine = machineNames.find((m) => container.name.startsWith(`${m}-`));
            assert.ok(container.dependsOn.includes(`${machine}-firewall`), `${container.name} waits for ${machine}-firewall: ${container.dependsOn.join(", ")}`);
        }
    });

    test("hostNetworkServices is exactly the services whose containers share the host's network", () => {
        const serviceOf = (c: RegisteredResource) => ((c.inputs.labels as { label: string; value: string }[]).find((l) => l.label === "ai-platform.service") ?? { value: "" }).value;
        const onHost = new Set(ofType(run, types.container).filter((c) => c.inputs.networkMode === "host").map(serviceOf));
        assert.deepEqual([...onHost].sort(), [...hostNetworkServices].sort());
    });

    test("admits Prometheus to every scrape target and LiteLLM to every Ollama api_base it was given", () => {
        const policy = new Map(policyOf(withAdmin).map((fw) => [fw.address, fw]));
        const upload = (container: string, file: string) => {
            const c = ofType(run, types.container).find((r) => r.name === container);
            const found = (c?.inputs.uploads as { file: string; content: string }[] | undefined)?.find((u) => u.file === file);
            assert.ok(found, `${container} ${file}`);
            return parse(found.content) as Record<string, unknown>;
        };
        const prometheus = upload("moros-prometheus", "/etc/prometheus/prometheus.yml") as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
        const targets = prometheus.scrape_configs.filter((j) => !j.job_name.startsWith("probe-")).flatMap((j) => j.static_configs.flatMap((g) => g.targets));
        assert.ok(targets.length > 20);
        for (const target of targets) {
            const [host, port] = target.split(":");
            if (host === address("moros")) continue;
            const fw = policy.get(host);
            assert.ok(fw && admits(fw, Number(port), address("moros")), `Prometheus -> ${target}`);
        }
        const litellm = upload("orpheus-litellm", "/app/config.yaml") as { model_list: { litellm_params: { api_base?: string } }[] };
        const bases = litellm.model_list.flatMap((m) => (m.litellm_params.api_base === undefined ? [] : [new URL(m.litellm_params.api_base)]));
        assert.ok(bases.length > 3);
        for (const base of bases.filter((b) => b.hostname !== address("orpheus") && /^\d/.test(b.hostname))) {
            const fw = policy.get(base.hostname);
            assert.ok(fw && admits(fw, Number(base.port), address("orpheus")), `LiteLLM -> ${base.host}`);
        }
    });

    test("an unchanged config renders the same rules; disabling a machine changes the rules of its peers' machines only", async () => {
        const again = await runProgram(withAdmin);
        for (const machine of machineNames) assert.equal(firewallOf(again, machine)?.inputs.stdin, firewallOf(run, machine)?.inputs.stdin, machine);
        const machines = { ...(homelab.machines as Record<string, object>), zelus: { address: "192.168.10.14", roles: ["tools"], enabled: false } };
        const without = await runProgram({ ...withAdmin, machines });
        assert.equal(without.error, undefined, without.error?.message);
        assert.equal(firewallOf(without, "zelus"), undefined);
        const changed = machineNames.filter((m) => m !== "zelus" && firewallOf(without, m)?.inputs.stdin !== firewallOf(run, m)?.inputs.stdin);
        // zelus ran Alloy (-> Loki on moros); nothing else of it was anyone's client.
        assert.deepEqual(changed, ["moros"]);
        assert.doesNotMatch(String(firewallOf(without, "moros")?.inputs.stdin), /192\.168\.10\.14/);
    });

    test("can be switched off, and is not installed on a loopback-only machine", async () => {
        const off = await runProgram({ ...withAdmin, firewall: { enabled: false } });
        assert.equal(off.error, undefined, off.error?.message);
        assert.deepEqual(ofType(off, types.command).filter((c) => c.name.endsWith("-firewall")), []);
        const local = await runProgram(readStackConfig("Pulumi.local.yaml"));
        assert.equal(local.error, undefined, local.error?.message);
        assert.deepEqual([...ofType(local, types.command), ...ofType(local, types.localCommand)].filter((c) => c.name.endsWith("-firewall")), []);
    });
});
