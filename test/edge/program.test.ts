import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { sequentialThinkingVersion } from "../../components/tools/image";
import { defaultImages } from "../../config/images";
import { validatePlatform } from "../../config/platform";
import { serviceKinds, ServiceName } from "../../machines/services";
import { ofType, plainStrings, ProgramRun, readStackConfig, RegisteredResource, runProgram, StackConfig, types } from "../harness/program";

const homelab = readStackConfig("Pulumi.homelab.yaml");
const homelabMachines = homelab.machines as Record<string, { address: string; roles: string[] }>;
const edgeAddress = homelabMachines.hephaestus.address;
const builtImage = "docker:index/image:Image";

type Upload = { file: string; content: string };
type Port = { internal: number; external: number; ip: string; protocol: string };
type Routes = { http: { routers: Record<string, { service: string; middlewares?: string[] }>; services: Record<string, { loadBalancer: { servers: { url: string }[] } }> } };

function withMachines(machines: Record<string, object>): StackConfig {
    return { ...homelab, machines: { ...homelabMachines, ...machines } };
}

function container(run: ProgramRun, name: string): RegisteredResource {
    const found = ofType(run, types.container).find((c) => c.name === name);
    assert.ok(found, `no container ${name}`);
    return found;
}

const uploads = (resource: RegisteredResource) => (resource.inputs.uploads as Upload[] | undefined) ?? [];
const upload = (resource: RegisteredResource, file: string) => uploads(resource).find((u) => u.file === file)?.content;
const labelsOf = (resource: RegisteredResource) => Object.fromEntries(((resource.inputs.labels as { label: string; value: string }[]) ?? []).map((l) => [l.label, l.value]));
const serviceOf = (resource: RegisteredResource) => labelsOf(resource)["ai-platform.service"];
const machineOf = (resource: RegisteredResource) => labelsOf(resource)["ai-platform.machine"];

function routesOf(run: ProgramRun): Routes {
    const routes = upload(container(run, "hephaestus-traefik"), "/etc/traefik/dynamic/routes.yml");
    assert.ok(routes, "Traefik has no routes file");
    return parse(routes) as Routes;
}

function serversOf(run: ProgramRun, service: string): string[] {
    return (routesOf(run).http.services[service]?.loadBalancer.servers ?? []).map((s) => s.url).sort();
}

describe("the edge of the homelab stack under mocks", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(homelab);
        assert.equal(run.error, undefined, run.error?.message);
    });

    test("runs Traefik, Uptime Kuma and CoreDNS on the edge machine, each family under a component of its machine", () => {
        for (const name of ["hephaestus-traefik", "hephaestus-uptime-kuma", "hephaestus-coredns"]) {
            assert.equal(machineOf(container(run, name)), "hephaestus");
        }
        const components = run.resources.filter((r) => /^ai-platform:(edge|dns|tools):/.test(r.type));
        assert.deepEqual(components.map((c) => [c.name, c.parent]).sort(), [
            ["hephaestus-dns", "hephaestus"],
            ["hephaestus-edge", "hephaestus"],
            ["thanatos-tools", "thanatos"],
            ["zelus-tools", "zelus"],
        ]);
        // A component must not share its name with a resource under it: a name then stands for two things.
        const names = run.resources.map((r) => r.name);
        for (const component of components) assert.equal(names.filter((n) => n === component.name).length, 1, component.name);
    });

    test("routes every routed service to the LAN address and published port of the machine that runs it", () => {
        const services = run.outputs.services as Record<string, { service: string; machine: string; url: string }>;
        const routed = (Object.keys(serviceKinds) as ServiceName[]).filter((s) => "route" in serviceKinds[s] && s !== "traefik");
        for (const service of routed) {
            const instances = Object.values(services).filter((s) => s.service === service);
            assert.ok(instances.length > 0, service);
            assert.deepEqual(serversOf(run, service), instances.map((i) => i.url).sort(), service);
            for (const running of ofType(run, types.container).filter((c) => serviceOf(c) === service)) {
                const address = homelabMachines[machineOf(running)].address;
                if (running.inputs.networkMode === "host") {
                    assert.ok(serversOf(run, service).some((url) => url.startsWith(`http://${address}:`)), `${running.name} runs on ${address}; the route goes elsewhere`);
                    continue;
                }
                const published = ((running.inputs.ports as Port[] | undefined) ?? []).map((p) => `http://${p.ip}:${p.external}`);
                assert.ok(serversOf(run, service).some((url) => published.includes(url)), `${running.name} publishes ${published.join(", ")}; the route goes elsewhere`);
                assert.ok(published.every((url) => url.startsWith(`http://${address}:`)));
            }
        }
        assert.equal(routesOf(run).http.routers.traefik.service, "api@internal");
    });

    test("puts the admin UIs behind basic auth with the generated password, delivered as a secret file", () => {
        const routers = routesOf(run).http.routers;
        for (const [service, kind] of Object.entries(serviceKinds)) {
            if (!("route" in kind)) continue;
            assert.equal((routers[service].middlewares ?? []).includes("admin-auth"), kind.route.auth, service);
        }
        const traefik = container(run, "hephaestus-traefik");
        const auth = upload(traefik, "/etc/traefik/dynamic/auth.yml");
        assert.match(auth ?? "", /- admin:\$2a\$10\$\S+/);
        assert.ok(!plainStrings(traefik.rawInputs).some((s) => s.includes("basicAuth") || s.includes("$2a$")), "the bcrypt hash must stay secret");
    });

    test("binds Traefik's entrypoints to the LAN address and checks it with traefik healthcheck --ping", () => {
        const traefik = container(run, "hephaestus-traefik");
        assert.equal(traefik.inputs.networkMode, "host");
        const command = traefik.inputs.command as string[];
        for (const [entrypoint, port] of [["web", 80], ["websecure", 443], ["metrics", 8082]]) {
            assert.ok(command.includes(`--entrypoints.${entrypoint}.address=${edgeAddress}:${port}`), `${entrypoint}`);
        }
        const tests = (traefik.inputs.healthcheck as { tests: string[] }).tests;
        assert.deepEqual(tests.slice(0, 4), ["CMD", "traefik", "healthcheck", "--ping=true"]);
        assert.ok(tests.includes(`--entrypoints.metrics.address=${edgeAddress}:8082`));
    });

    test("keeps Uptime Kuma's data on a local volume and publishes :3001 on the LAN address", () => {
        const kuma = container(run, "hephaestus-uptime-kuma");
        const volume = ofType(run, types.volume).find((v) => v.name === "hephaestus-uptime-kuma-data");
        assert.ok(volume);
        assert.equal(volume.inputs.driver, "local");
        assert.equal(volume.inputs.driverOpts, undefined, "SQLite needs file locks: not NFS");
        assert.deepEqual(kuma.inputs.volumes, [{ containerPath: "/app/data", volumeName: volume.inputs.name, readOnly: false }]);
        assert.deepEqual(kuma.inputs.ports, [{ internal: 3001, external: 3001, ip: edgeAddress, protocol: "tcp" }]);
        assert.deepEqual((kuma.inputs.healthcheck as { tests: string[] }).tests, ["CMD", "/app/extra/healthcheck"]);
        // Uptime Kuma 2 skips its database-choice page when the type comes from the environment (server/setup-database.js).
        assert.ok((kuma.inputs.envs as string[]).includes("UPTIME_KUMA_DB_TYPE=sqlite"));
    });

    test("serves the zone from CoreDNS on :53 (UDP and TCP) of the LAN address, says why it has no healthcheck", () => {
        const coredns = container(run, "hephaestus-coredns");
        const ports = (coredns.inputs.ports as Port[]).map((p) => `${p.ip}:${p.external}/${p.protocol}`).sort();
        assert.deepEqual(ports, [`${edgeAddress}:53/tcp`, `${edgeAddress}:53/udp`, `${edgeAddress}:8053/tcp`, `${edgeAddress}:9153/tcp`]);
        assert.equal(coredns.inputs.healthcheck, undefined);
        assert.match(labelsOf(coredns)["ai-platform.no-healthcheck"], /scratch/);
        const zone = upload(coredns, "/etc/coredns/zones/db.lab.internal") ?? "";
        for (const [machine, { address }] of Object.entries(homelabMachines)) assert.match(zone, new RegExp(`^${machine} +IN A +${address.replace(/\./g, "\\.")}$`, "m"));
        assert.match(upload(coredns, "/etc/coredns/Corefile") ?? "", /forward \. 1\.1\.1\.1 9\.9\.9\.9/);
        assert.deepEqual(coredns.inputs.command, ["-conf", "/etc/coredns/Corefile"]);
    });

    test("runs one tool server per tools machine, from an image built on that machine, with the API key as a secret", () => {
        const replicas = ofType(run, types.container).filter((c) => serviceOf(c) === "mcpo");
        assert.deepEqual(replicas.map(machineOf).sort(), ["thanatos", "zelus"]);
        for (const replica of replicas) {
            const machine = machineOf(replica);
            assert.deepEqual(replica.inputs.ports, [{ internal: 8000, external: 8000, ip: homelabMachines[machine].address, protocol: "tcp" }]);
            assert.ok((replica.inputs.envs as string[]).includes("MCPO_API_KEY_FILE=/run/secrets/mcpo-api-key"));
            const key = (replica.inputs.uploads as { file: string; content: string }[]).find((u) => u.file === "/run/secrets/mcpo-api-key");
            assert.match(key?.content ?? "", /^generated-secret-platform-tools-api-key/, "the API key travels as a secret file");
            assert.ok(!plainStrings(replica.rawInputs).some((s) => s.includes("generated-secret-platform-tools-api-key")), "the API key must be a secret");
            assert.match((replica.inputs.healthcheck as { tests: string[] }).tests.join(" "), /curl .*\/docs$/);
            const build = ofType(run, builtImage).find((i) => i.name === `${machine}-tools-image`);
            assert.ok(build, `no image build on ${machine}`);
            assert.equal(build.parent, `${machine}-tools`);
            assert.match(build.provider ?? "", new RegExp(`pulumi:providers:docker::${machine}-docker::`), "built on the machine's own daemon");
            assert.equal(build.inputs.skipPush, true);
            assert.deepEqual(build.inputs.build, {
                context: "components/tools",
                dockerfile: "components/tools/Dockerfile",
                args: { MCPO_IMAGE: defaultImages.mcpoBase, SEQUENTIAL_THINKING_VERSION: sequentialThinkingVersion },
            });
            const image = ofType(run, types.image).find((i) => i.parent === machine && i.inputs.name === build.inputs.imageName);
            assert.ok(image, `${machine} does not run the image it built`);
        }
        assert.deepEqual(serversOf(run, "mcpo"), ["http://192.168.10.13:8000", "http://192.168.10.14:8000"]);
    });
});

describe("tool server replicas follow the tools machines", () => {
    test("a new tools machine adds a replica and a Traefik server", async () => {
        const run = await runProgram(withMachines({ ares: { address: "192.168.10.15", roles: ["tools"] } }));
        assert.equal(run.error, undefined, run.error?.message);
        assert.equal(machineOf(container(run, "ares-mcpo")), "ares");
        assert.ok(ofType(run, builtImage).some((i) => i.name === "ares-tools-image"));
        assert.deepEqual(serversOf(run, "mcpo"), ["http://192.168.10.13:8000", "http://192.168.10.14:8000", "http://192.168.10.15:8000"]);
    });

    test("disabling a tools machine removes its replica and its Traefik server", async () => {
        const run = await runProgram(withMachines({ zelus: { address: "192.168.10.14", roles: ["tools"], enabled: false } }));
        assert.equal(run.error, undefined, run.error?.message);
        assert.equal(ofType(run, types.container).filter((c) => c.name.startsWith("zelus-")).length, 0);
        assert.deepEqual(serversOf(run, "mcpo"), ["http://192.168.10.13:8000"]);
        assert.doesNotMatch(upload(container(run, "hephaestus-coredns"), "/etc/coredns/zones/db.lab.internal") ?? "", /zelus/);
    });
});

describe("ACME DNS-01", () => {
    test("asks a wildcard certificate with the provider's credentials as secret files, storing acme.json on a local volume", async () => {
        const edge = { acme: { email: "ops@example.org", dnsProvider: "cloudflare", credentials: { CF_DNS_API_TOKEN: "token-xyz-123" } } };
        const run = await runProgram({ ...homelab, edge }, { secretKeys: ["edge"] });
        assert.equal(run.error, undefined, run.error?.message);
        const traefik = container(run, "hephaestus-traefik");
        const command = traefik.inputs.command as string[];
        assert.ok(command.includes("--certificatesresolvers.acme.acme.dnschallenge.provider=cloudflare"));
        assert.ok(command.includes("--entrypoints.websecure.http.tls.domains[0].sans=*.lab.internal"));
        assert.ok((traefik.inputs.envs as string[]).includes("CF_DNS_API_TOKEN_FILE=/run/secrets/acme/CF_DNS_API_TOKEN"));
        assert.equal(upload(traefik, "/run/secrets/acme/CF_DNS_API_TOKEN"), "token-xyz-123");
        for (const resource of run.resources) {
            assert.ok(!plainStrings(resource.rawInputs).some((s) => s.includes("token-xyz-123")), `${resource.name} holds the ACME token in plain text`);
        }
        const volume = ofType(run, types.volume).find((v) => v.name === "hephaestus-traefik-acme");
        assert.ok(volume);
        assert.deepEqual(traefik.inputs.volumes, [{ containerPath: "/var/lib/traefik", volumeName: volume.inputs.name, readOnly: false }]);
    });

    test("names a credential that is not an environment variable name by its config path", () => {
        const result = validatePlatform({ ...homelab, edge: { acme: { email: "ops@example.org", dnsProvider: "cloudflare", credentials: { "cf-token": "x" } } } });
        assert.ok(!result.ok);
        assert.ok(result.issues.some((issue) => issue.path === "edge.acme.credentials.cf-token"), JSON.stringify(result.issues));
    });
});

describe("moving the edge's ports", () => {
    test("ports.traefik.web and ports.traefik.websecure move the entrypoints where 80 and 443 are taken (the local stack)", async () => {
        const run = await runProgram({ ...readStackConfig("Pulumi.local.yaml"), ports: { grafana: 3002, "traefik.web": 8081, "traefik.websecure": 8443 } });
        assert.equal(run.error, undefined, run.error?.message);
        const command = container(run, "local-traefik").inputs.command as string[];
        assert.ok(command.includes("--entrypoints.web.address=127.0.0.1:8081"), command.join(" "));
        assert.ok(command.includes("--entrypoints.websecure.address=127.0.0.1:8443"), command.join(" "));
        assert.ok(!command.some((flag) => /address=127\.0\.0\.1:(80|443)$/.test(flag)), command.join(" "));
    });
});
