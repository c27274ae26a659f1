import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { buildCatalog } from "../../components/catalog/catalog";
import { renderCorefile, zoneFilePath } from "../../components/dns/corefile";
import { renderZone, zoneSerial } from "../../components/dns/zone";
import { validatePlatform } from "../../config/platform";
import { place, Placement } from "../../machines/placement";
import { readStackConfig, StackConfig } from "../harness/program";

const nameserver = { name: "hephaestus", address: "192.168.10.12" };

function placementOf(config: StackConfig): Placement {
    const result = validatePlatform(config);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    return place(result.config);
}

function zoneOf(placement: Placement, domain = "lab.internal"): string {
    return renderZone(placement, buildCatalog(placement, domain), { domain, nameserver });
}

/** Runs BIND's named-checkzone on a rendered zone; throws with its output when the zone is rejected. */
function checkZone(domain: string, zone: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zone-"));
    try {
        const file = path.join(dir, `db.${domain}`);
        fs.writeFileSync(file, zone);
        return execFileSync("named-checkzone", ["-k", "fail", "-n", "fail", "-m", "fail", "-M", "fail", "-S", "fail", domain, file], { encoding: "utf8" });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** `name type data` triples of the zone, names made absolute. */
function records(zone: string, domain: string): { name: string; type: string; data: string }[] {
    return zone
        .split("\n")
        .filter((line) => line !== "" && !line.startsWith("$") && !line.startsWith("@"))
        .map((line) => {
            const [name, , type, ...data] = line.split(/\s+/);
            return { name: `${name}.${domain}`, type, data: data.join(" ") };
        });
}

describe("the DNS zone of the homelab stack", () => {
    const homelab = readStackConfig("Pulumi.homelab.yaml");
    const placement = placementOf(homelab);
    const zone = zoneOf(placement);
    const rrs = records(zone, "lab.internal");
    const a = (name: string) => rrs.filter((r) => r.type === "A" && r.name === name).map((r) => r.data);

    test("passes named-checkzone with its strict checks", () => {
        assert.match(checkZone("lab.internal", zone), /\nOK\n?$/);
    });

    test("names every enabled machine at its address", () => {
        for (const machine of placement.machines) assert.deepEqual(a(`${machine.name}.lab.internal`), [machine.address], machine.name);
        assert.equal(placement.machines.length, 10);
    });

    test("names every service instance under svc, at the address of its machine", () => {
        for (const service of placement.services) assert.deepEqual(a(`${service.instance}.svc.lab.internal`), [service.address], service.instance);
    });

    test("lists every instance of a service, with its port, in an SRV record", () => {
        const srv = rrs.filter((r) => r.type === "SRV" && r.name === "_mcpo._tcp.svc.lab.internal").map((r) => r.data);
        assert.deepEqual(srv, ["0 10 8000 mcpo-thanatos.svc.lab.internal.", "0 10 8000 mcpo-zelus.svc.lab.internal."]);
        const dns = rrs.filter((r) => r.type === "SRV" && r.name.startsWith("_coredns-dns.")).map((r) => r.name);
        assert.deepEqual(dns.sort(), ["_coredns-dns._tcp.svc.lab.internal", "_coredns-dns._udp.svc.lab.internal"]);
    });

    test("points every route host name at the edge machine", () => {
        for (const host of ["chat", "llm", "grafana", "prometheus", "alertmanager", "status", "traefik", "tools"]) {
            assert.deepEqual(a(`${host}.lab.internal`), [nameserver.address], host);
        }
    });

    test("is served by the edge machine", () => {
        assert.match(zone, /^@ IN NS hephaestus\.lab\.internal\.$/m);
    });

    test("keeps its SOA serial while the zone is unchanged and changes it with any record", () => {
        const serial = (text: string) => Number(/IN SOA \S+ \S+ (\d+) /.exec(text)?.[1]);
        assert.equal(serial(zoneOf(placementOf(homelab))), serial(zone));
        const machines = { ...(homelab.machines as Record<string, object>), zelus: { address: "192.168.10.15", roles: ["tools"] } };
        const moved = zoneOf(placementOf({ ...homelab, machines }));
        assert.notEqual(serial(moved), serial(zone));
        assert.match(checkZone("lab.internal", moved), /OK/);
        assert.ok(serial(zone) >= 1 && serial(zone) < 2 ** 31);
        assert.equal(zoneSerial("a"), zoneSerial("a"));
    });

    test("drops a disabled machine and its services", () => {
        const machines = { ...(homelab.machines as Record<string, object>), zelus: { address: "192.168.10.14", roles: ["tools"], enabled: false } };
        const without = zoneOf(placementOf({ ...homelab, machines }));
        assert.doesNotMatch(without, /zelus|192\.168\.10\.14/);
        assert.match(checkZone("lab.internal", without), /OK/);
    });
});

describe("the DNS zone of the local stack", () => {
    test("passes named-checkzone", () => {
        const local = placementOf(readStackConfig("Pulumi.local.yaml"));
        const zone = renderZone(local, buildCatalog(local, "ai.localhost"), { domain: "ai.localhost", nameserver: { name: "local", address: "127.0.0.1" } });
        assert.match(checkZone("ai.localhost", zone), /OK/);
    });
});

describe("the Corefile", () => {
    const corefile = renderCorefile({ domain: "lab.internal", upstreams: ["1.1.1.1", "9.9.9.9"], ports: { health: 8080, metrics: 9153, ready: 8181 } });
    const block = (name: string) => new RegExp(`^${name.replace(".", "\\.")} \\{\\n([\\s\\S]*?)\\n\\}$`, "m").exec(corefile)?.[1] ?? "";

    test("serves the zone from its file, reloaded when the serial changes", () => {
        assert.match(block("lab.internal"), new RegExp(`file ${zoneFilePath("lab.internal")} \\{\\n\\s+reload 30s`));
    });

    test("forwards every other name to the upstream resolvers, cached", () => {
        const root = block(".");
        assert.match(root, /^\s+forward \. 1\.1\.1\.1 9\.9\.9\.9$/m);
        assert.match(root, /^\s+cache \d+$/m);
    });

    test("reports health, readiness and metrics, and logs queries and errors", () => {
        assert.match(corefile, /^\s+health :8080$/m);
        assert.match(corefile, /^\s+ready :8181$/m);
        for (const name of ["lab.internal", "."]) {
            for (const plugin of ["prometheus :9153", "errors", "log"]) assert.match(block(name), new RegExp(`^\\s+${plugin}$`, "m"), `${name}: ${plugin}`);
        }
    });
});
