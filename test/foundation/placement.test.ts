import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildCatalog, machinesOutput, servicesOutput } from "../../components/catalog/catalog";
import { PlatformConfig, validatePlatform } from "../../config/platform";
import { findService, instancesOf, place } from "../../machines/placement";
import { readStackConfig, StackConfig } from "../harness/program";

function validated(raw: StackConfig): PlatformConfig {
    const result = validatePlatform(raw);
    if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
    return result.config;
}

const homelabRaw = readStackConfig("Pulumi.homelab.yaml");
const homelab = validated(homelabRaw);

function servicesOn(config: PlatformConfig, machine: string): string[] {
    return place(config).machines.find((m) => m.name === machine)?.services.map((s) => s.service) ?? [];
}

describe("placement of the homelab stack", () => {
    const placement = place(homelab);

    test("every enabled machine is placed, with a Docker host over SSH", () => {
        assert.deepEqual(
            placement.machines.map((m) => m.name),
            ["erebus", "hephaestus", "thanatos", "zelus", "orpheus", "kratos", "nyx", "hades", "moros", "local"],
        );
        assert.equal(placement.machines.find((m) => m.name === "kratos")?.dockerHost, "ssh://deploy@192.168.10.22");
    });

    test("every machine runs the host agents", () => {
        for (const machine of placement.machines) {
            const services = machine.services.map((s) => s.service);
            for (const agent of ["node-exporter", "cadvisor", "autoheal"]) assert.ok(services.includes(agent as never), `${agent} on ${machine.name}`);
        }
    });

    test("roles place the seed's services on the seed's machines", () => {
        assert.equal(findService(placement, "postgres")?.machine, "erebus");
        assert.equal(findService(placement, "postgres-replica")?.machine, "thanatos");
        assert.equal(findService(placement, "traefik")?.machine, "hephaestus");
        assert.equal(findService(placement, "litellm")?.machine, "orpheus");
        assert.equal(findService(placement, "open-webui")?.machine, "orpheus");
        assert.equal(findService(placement, "grafana")?.machine, "moros");
        assert.deepEqual(instancesOf(placement, "ollama").map((s) => s.machine), ["orpheus", "kratos", "nyx", "hades"]);
        assert.deepEqual(instancesOf(placement, "mcpo").map((s) => s.machine), ["thanatos", "zelus"]);
        assert.deepEqual(servicesOn(homelab, "local").filter((s) => !["node-exporter", "cadvisor", "autoheal", "alloy"].includes(s)), []);
    });

    test("the large models go to hades only, and each model lists its nodes", () => {
        assert.deepEqual(placement.modelNodes["llama3.3:70b"], ["hades"]);
        assert.deepEqual(placement.modelNodes["qwen2.5:72b"], ["hades"]);
        assert.deepEqual(placement.machines.find((m) => m.name === "hades")?.models, ["llama3.3:70b", "qwen2.5:72b"]);
        assert.deepEqual(placement.machines.find((m) => m.name === "kratos")?.models, ["llama3.1:8b", "qwen2.5-coder:14b"]);
    });

    test("exactly one inference machine writes the shared model store", () => {
        const writers = placement.machines.filter((m) => m.modelStoreWriter).map((m) => m.name);
        assert.deepEqual(writers, ["orpheus"], "the homelab stack pins the writer");
        assert.equal(placement.modelStoreWriter, "orpheus");
        const byDefault = place(validated({ ...homelabRaw, ollama: {} }));
        assert.deepEqual(byDefault.machines.filter((m) => m.modelStoreWriter).map((m) => m.name), ["hades"], "by default, the first inference machine by name");
    });

    test("inference machines mount the models export, the database machine the backups export", () => {
        const mounts = Object.fromEntries(placement.machines.map((m) => [m.name, m.mounts]));
        assert.deepEqual(mounts.orpheus, ["models"]);
        assert.deepEqual(mounts.hades, ["models"]);
        assert.deepEqual(mounts.erebus, ["backups"]);
        assert.deepEqual(mounts.moros, []);
    });

    test("a port override moves the service's published port", () => {
        const moved = place(validated({ ...homelabRaw, ports: { grafana: 3300 } }));
        assert.equal(findService(moved, "grafana")?.port?.external, 3300);
        assert.equal(findService(moved, "grafana")?.port?.internal, 3000);
    });

    test("an override of <service>.<port> moves a named extra port (Traefik's 80/443 when they are taken)", () => {
        const moved = place(validated({ ...homelabRaw, ports: { "traefik.web": 8081, "traefik.websecure": 8443 } }));
        const traefik = findService(moved, "traefik");
        assert.deepEqual([traefik?.extraPorts.web.external, traefik?.extraPorts.websecure.external, traefik?.extraPorts.tools.external], [8081, 8443, 8001]);
        assert.equal(traefik?.extraPorts.websecure.internal, 443);
    });
});

describe("placement follows config edits", () => {
    test("a new GPU machine with the inference role gets Ollama and the GPU exporter", () => {
        const machines = { ...(homelabRaw.machines as object), ares: { address: "192.168.10.25", roles: ["inference"], gpu: { vendor: "nvidia", vramGb: 24 } } };
        const config = validated({ ...homelabRaw, machines });
        assert.ok(servicesOn(config, "ares").includes("ollama"));
        assert.ok(servicesOn(config, "ares").includes("dcgm-exporter"));
    });

    test("a disabled machine is not placed and runs nothing", () => {
        const machines = { ...(homelabRaw.machines as Record<string, object>), zelus: { address: "192.168.10.14", roles: ["tools"], enabled: false } };
        const placement = place(validated({ ...homelabRaw, machines }));
        assert.equal(placement.machines.find((m) => m.name === "zelus"), undefined);
        assert.equal(placement.services.filter((s) => s.machine === "zelus").length, 0);
    });

    test("a disabled node is dropped from the models it served, with a warning, not an error", () => {
        const machines = { ...(homelabRaw.machines as Record<string, object>), nyx: { address: "192.168.10.23", roles: ["inference"], gpu: { vendor: "nvidia", vramGb: 16 }, enabled: false } };
        const result = validatePlatform({ ...homelabRaw, machines });
        assert.ok(result.ok);
        assert.deepEqual(result.warnings.map((w) => `${w.path}: ${w.message}`), [
            "models[0].nodes: nyx is disabled and dropped from llama3.1:8b; it is served by its other nodes",
            "models[1].nodes: nyx is disabled and dropped from qwen2.5-coder:14b; it is served by its other nodes",
        ]);
        const placement = place(result.config);
        assert.deepEqual(placement.modelNodes["llama3.1:8b"], ["orpheus", "kratos"]);
        assert.deepEqual(placement.modelNodes["qwen2.5-coder:14b"], ["kratos"]);
    });

    test("a model whose every node is disabled is no longer routed, and the warning says so", () => {
        const machines = { ...(homelabRaw.machines as Record<string, object>), hades: { address: "192.168.10.24", roles: ["inference"], gpu: { vendor: "amd", vramGb: 48, count: 2 }, enabled: false } };
        const result = validatePlatform({ ...homelabRaw, machines });
        assert.ok(result.ok);
        assert.match(result.warnings.map((w) => w.message).join("\n"), /hades is disabled and dropped from llama3\.3:70b; no enabled node serves it/);
        assert.equal(place(result.config).modelNodes["llama3.3:70b"], undefined);
    });

    test("ACME without provider credentials is a warning naming the key to set", () => {
        const result = validatePlatform({ ...homelabRaw, edge: { acme: { email: "ops@example.org", dnsProvider: "cloudflare" } } });
        assert.ok(result.ok);
        assert.deepEqual(result.warnings.map((w) => w.path), ["edge.acme.credentials"]);
        assert.match(result.warnings[0].message, /cloudflare/);
        const withToken = validatePlatform({ ...homelabRaw, edge: { acme: { email: "ops@example.org", dnsProvider: "cloudflare", credentials: { CF_DNS_API_TOKEN: "t" } } } });
        assert.ok(withToken.ok);
        assert.deepEqual(withToken.warnings, []);
    });

    test("the Docker host follows ssh.port and a per-machine override", () => {
        const machines = { ...(homelabRaw.machines as Record<string, object>), zelus: { address: "192.168.10.14", roles: ["tools"], docker: { host: "tcp://192.168.10.14:2376" } } };
        const placement = place(validated({ ...homelabRaw, ssh: { user: "ops", port: 2222 }, machines }));
        assert.equal(placement.machines.find((m) => m.name === "kratos")?.dockerHost, "ssh://ops@192.168.10.22:2222");
        assert.equal(placement.machines.find((m) => m.name === "zelus")?.dockerHost, "tcp://192.168.10.14:2376");
    });
});

describe("the catalog", () => {
    const placement = place(homelab);
    const catalog = buildCatalog(placement, homelab.domain);

    test("registers every placed service that publishes a port, at its machine's LAN address", () => {
        const published = placement.services.filter((s) => s.port !== undefined);
        assert.equal(catalog.entries.length, published.length);
        for (const entry of catalog.entries) {
            const machine = placement.machines.find((m) => m.name === entry.machine);
            assert.equal(entry.address, machine?.address);
            assert.ok(entry.url.includes(`${entry.address}:${entry.port}`), entry.url);
        }
    });

    test("gives HTTP health URLs where the service has one and tcp:// otherwise", () => {
        const byInstance = Object.fromEntries(catalog.entries.map((e) => [e.instance, e]));
        assert.equal(byInstance["litellm"].healthUrl, "http://192.168.10.21:4000/health/liveliness");
        assert.equal(byInstance["postgres"].healthUrl, "tcp://192.168.10.11:5432");
        assert.equal(byInstance["ollama-kratos"].healthUrl, "http://192.168.10.22:11434/api/version");
        assert.equal(byInstance["open-webui"].url, "http://192.168.10.21:3000");
    });

    test("routes admin UIs behind auth on the platform domain", () => {
        const routes = Object.fromEntries(catalog.entries.filter((e) => e.route).map((e) => [e.service, e.route]));
        assert.deepEqual(routes.prometheus, { host: "prometheus.lab.internal", auth: true });
        assert.deepEqual(routes.traefik, { host: "traefik.lab.internal", auth: true });
        assert.deepEqual(routes["open-webui"], { host: "chat.lab.internal", auth: false });
    });

    test("the services and machines outputs are plain JSON describing every instance", () => {
        const services = servicesOutput(catalog);
        assert.deepEqual(services["ollama-hades"], { service: "ollama", machine: "hades", url: "http://192.168.10.24:11434", healthUrl: "http://192.168.10.24:11434/api/version" });
        const machines = machinesOutput(placement);
        assert.deepEqual(machines.erebus.roles, ["database"]);
        assert.ok(machines.erebus.services.includes("postgres"));
        assert.equal(JSON.parse(JSON.stringify(services))["litellm"].url, "http://192.168.10.21:4000");
    });
});

describe("the local stack", () => {
    const local = validated(readStackConfig("Pulumi.local.yaml"));
    const placement = place(local);

    test("is one machine on the local Docker socket with every role but the replica", () => {
        assert.equal(placement.machines.length, 1);
        assert.equal(placement.machines[0].dockerHost, "unix:///var/run/docker.sock");
        assert.equal(findService(placement, "postgres-replica"), undefined);
        assert.ok(findService(placement, "ollama"));
    });

    test("publishes no two services on the same port", () => {
        const ports = placement.services.flatMap((s) => [s.port, ...Object.values(s.extraPorts)].filter((p) => p !== undefined).map((p) => `${p.external}/${p.protocol ?? "tcp"}`));
        assert.equal(new Set(ports).size, ports.length, ports.join(" "));
    });
});
