import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { isPinned } from "../../config/images";
import { goDuration } from "../../components/container/duration";
import { ancestors, generatedSecretMarker, ofType, plainStrings, ProgramRun, readStackConfig, RegisteredResource, runProgram, types } from "../harness/program";

const homelabConfig = readStackConfig("Pulumi.homelab.yaml");
const machineNames = Object.keys(homelabConfig.machines as object);
const addresses = Object.fromEntries(Object.entries(homelabConfig.machines as Record<string, { address: string }>).map(([n, m]) => [n, m.address]));

type Label = { label: string; value: string };
const labelsOf = (r: RegisteredResource) => Object.fromEntries(((r.inputs.labels as Label[]) ?? []).map((l) => [l.label, l.value]));

describe("the homelab stack under mocks", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(homelabConfig);
        assert.equal(run.error, undefined, run.error?.message);
    });

    test("registers one Machine component and one Docker provider over SSH per machine", () => {
        assert.deepEqual(ofType(run, types.machine).map((m) => m.name).sort(), [...machineNames].sort());
        const providers = ofType(run, types.provider);
        assert.equal(providers.length, 10);
        for (const provider of providers) {
            const machine = provider.name.replace(/-docker$/, "");
            assert.equal(provider.inputs.host, `ssh://deploy@${addresses[machine]}`);
            assert.equal(provider.parent, machine);
            const sshOpts = JSON.parse(String(provider.inputs.sshOpts)) as string[];
            assert.ok(sshOpts.includes("ControlMaster=auto") && sshOpts.includes("ControlPersist=60s") && sshOpts.includes("ServerAliveInterval=30"), String(provider.inputs.sshOpts));
        }
    });

    test("gives every machine a frontend network and an internal backend network", () => {
        for (const machine of machineNames) {
            const networks = ofType(run, types.network).filter((n) => n.parent === machine);
            assert.deepEqual(networks.map((n) => [n.name, n.inputs.internal ?? false]).sort(), [[`${machine}-backend`, true], [`${machine}-frontend`, false]]);
        }
    });

    test("mounts the NAS exports over NFS where they are used", () => {
        const volumes = Object.fromEntries(ofType(run, types.volume).map((v) => [v.name, v.inputs]));
        for (const machine of ["orpheus", "kratos", "nyx", "hades"]) {
            assert.deepEqual(volumes[`${machine}-models`].driverOpts, { type: "nfs", o: "addr=192.168.10.5,rw,nfsvers=4.1,hard,noatime", device: ":/mnt/tank/ai/models" });
        }
        assert.deepEqual(volumes["erebus-backups"].driverOpts, { type: "nfs", o: "addr=192.168.10.5,rw,nfsvers=4.1,hard,noatime", device: ":/mnt/tank/ai/backups" });
        assert.equal(volumes["moros-models"], undefined);
    });

    test("every resource on a machine descends from that machine's component and carries its name", () => {
        for (const resource of run.resources) {
            const machine = machineNames.find((name) => resource.name === name || resource.name.startsWith(`${name}-`));
            if (machine === undefined || resource.name === machine) continue;
            assert.ok(ancestors(run, resource).includes(machine), `${resource.name} (${resource.type}) must descend from ${machine}`);
        }
        for (const resource of run.resources.filter((r) => r.type.startsWith("docker:") || r.type.startsWith("command:"))) {
            assert.ok(machineNames.some((name) => resource.name.startsWith(`${name}-`)), `${resource.name} must be named after its machine`);
        }
    });

    test("runs the host agents on every machine", () => {
        const containers = ofType(run, types.container).map((c) => c.name);
        for (const machine of machineNames) {
            for (const agent of ["node-exporter", "cadvisor", "autoheal"]) assert.ok(containers.includes(`${machine}-${agent}`), `${machine}-${agent}`);
        }
    });

    test("hardens every container: restart policy, healthcheck, log rotation, labels, LAN-bound ports", () => {
        const containers = ofType(run, types.container);
        assert.ok(containers.length >= 30);
        for (const container of containers) {
            const machine = machineNames.find((name) => container.name.startsWith(`${name}-`));
            assert.ok(machine, container.name);
            const inputs = container.inputs;
            const labels = labelsOf(container);
            assert.equal(inputs.restart, "unless-stopped", container.name);
            assert.equal(inputs.logDriver, "json-file", container.name);
            assert.deepEqual(inputs.logOpts, { "max-size": "10m", "max-file": "3" }, container.name);
            assert.equal(labels["ai-platform.platform"], "ai-platform", container.name);
            assert.equal(labels["ai-platform.machine"], machine, container.name);
            assert.equal(`${machine}-${labels["ai-platform.service"]}`, container.name);
            const healthcheck = inputs.healthcheck as { tests: string[] } | undefined;
            if (healthcheck) {
                assert.ok(["CMD", "CMD-SHELL"].includes(healthcheck.tests[0]), container.name);
                // Unless it says why autoheal must leave it alone (the backup container: a restart hides a failed backup).
                assert.equal(labels.autoheal, labels["ai-platform.no-autoheal"] ? "false" : "true", container.name);
            } else {
                assert.ok(labels["ai-platform.no-healthcheck"], `${container.name} has no healthcheck and does not say why`);
                assert.equal(labels.autoheal, undefined, container.name);
            }
            for (const port of (inputs.ports as { ip: string }[] | undefined) ?? []) {
                assert.equal(port.ip, addresses[machine], `${container.name} publishes on ${port.ip}`);
            }
        }
    });

    test("asks for nothing the Docker provider reads back differently, so an unchanged config changes nothing", () => {
        for (const container of ofType(run, types.container)) {
            const healthcheck = container.inputs.healthcheck as Record<string, string> | undefined;
            for (const key of ["interval", "timeout", "startPeriod"]) {
                if (healthcheck?.[key] !== undefined) assert.equal(healthcheck[key], goDuration(healthcheck[key]), `${container.name} healthcheck.${key}`);
            }
            const capabilities = container.inputs.capabilities as { adds?: string[] } | undefined;
            for (const capability of capabilities?.adds ?? []) assert.match(capability, /^CAP_/, container.name);
        }
        const dcgm = ofType(run, types.container).find((c) => c.name === "kratos-dcgm-exporter");
        assert.deepEqual((dcgm?.inputs.capabilities as { adds: string[] }).adds, ["CAP_SYS_ADMIN"]);
    });

    test("gives PostgreSQL its full shutdown grace on replace, destroy and autoheal restarts", () => {
        const databases = ofType(run, types.container).filter((c) => ["postgres", "postgres-replica"].includes(labelsOf(c)["ai-platform.service"]));
        assert.deepEqual(databases.map((c) => c.name).sort(), ["erebus-postgres", "thanatos-postgres-replica"]);
        for (const database of databases) {
            assert.equal(database.inputs.stopTimeout, 120, database.name);
            assert.equal(database.inputs.destroyGraceSeconds, 120, database.name);
            assert.equal(labelsOf(database)["autoheal.stop.timeout"], "120", database.name);
        }
        for (const container of ofType(run, types.container)) assert.ok(Number(container.inputs.destroyGraceSeconds) >= 10, `${container.name} is killed without grace on replace`);
    });

    test("mounts only volumes the program manages on the container's own machine", () => {
        const volumes = ofType(run, types.volume);
        for (const container of ofType(run, types.container)) {
            const machine = machineNames.find((name) => container.name.startsWith(`${name}-`));
            for (const mount of (container.inputs.volumes as { volumeName?: string; hostPath?: string }[] | undefined) ?? []) {
                if (mount.volumeName === undefined) continue;
                const volume = volumes.find((v) => v.inputs.name === mount.volumeName && machine !== undefined && ancestors(run, v).includes(machine));
                assert.ok(volume, `${container.name} mounts ${mount.volumeName}, which no Volume resource on ${machine} creates`);
            }
        }
    });

    test("pulls every image pinned to a version, once per machine", () => {
        const images = ofType(run, types.image);
        for (const image of images) assert.ok(isPinned(String(image.inputs.name)), String(image.inputs.name));
        const perMachine = images.map((i) => `${i.parent}/${i.inputs.name}`);
        assert.equal(new Set(perMachine).size, perMachine.length);
    });

    test("generates every password with @pulumi/random and keeps it out of plain text", () => {
        const passwords = ofType(run, types.password);
        assert.ok(passwords.length >= 10);
        for (const password of passwords) assert.equal(password.parent, "platform");
        for (const resource of run.resources) {
            const leaks = plainStrings(resource.rawInputs).filter((s) => s.includes(generatedSecretMarker) || s.startsWith("$2a$"));
            assert.deepEqual(leaks, [], `${resource.name} holds a secret in plain text`);
        }
    });

    test("exports endpoints as plain values and credentials as secrets", () => {
        for (const key of ["services", "machines", "openWebUiUrl", "liteLlmUrl", "grafanaUrl", "prometheusUrl", "uptimeKumaUrl"]) {
            assert.ok(!run.secretOutputs.has(key), `${key} must not be secret`);
            assert.ok(run.outputs[key] !== undefined, `${key} must be set`);
        }
        for (const key of ["liteLlmMasterKey", "grafanaAdminPassword", "edgeAdminPassword", "toolsApiKey"]) assert.ok(run.secretOutputs.has(key), `${key} must be secret`);
        assert.match(String(run.outputs.liteLlmMasterKey), /^sk-/);
        const services = run.outputs.services as Record<string, { machine: string; healthUrl: string }>;
        assert.equal(services.postgres.machine, "erebus");
        assert.equal(services["ollama-hades"].healthUrl, "http://192.168.10.24:11434/api/version");
        const machines = run.outputs.machines as Record<string, { address: string; roles: string[] }>;
        assert.deepEqual(machines.hades.roles, ["inference"]);
        assert.doesNotMatch(JSON.stringify(run.outputs.services), new RegExp(generatedSecretMarker));
    });
});

describe("a disabled machine", () => {
    test("has no resources left and is dropped from everything that referred to it", async () => {
        const machines = { ...(homelabConfig.machines as Record<string, object>), zelus: { address: "192.168.10.14", roles: ["tools"], enabled: false } };
        const run = await runProgram({ ...homelabConfig, machines });
        assert.equal(run.error, undefined, run.error?.message);
        assert.deepEqual(run.resources.filter((r) => r.name === "zelus" || r.name.startsWith("zelus-")).map((r) => r.name), []);
        for (const resource of run.resources) {
            assert.ok(!plainStrings(resource.rawInputs).some((s) => s.includes("192.168.10.14")), `${resource.name} still refers to zelus`);
        }
        assert.equal((run.outputs.machines as Record<string, unknown>).zelus, undefined);
        assert.ok(!Object.values(run.outputs.services as Record<string, { machine: string }>).some((s) => s.machine === "zelus"));
        assert.equal(ofType(run, types.provider).length, 9);
    });
});

describe("the local stack under mocks", () => {
    test("deploys every service to the local Docker socket, bound to 127.0.0.1", async () => {
        const run = await runProgram(readStackConfig("Pulumi.local.yaml"));
        assert.equal(run.error, undefined, run.error?.message);
        const providers = ofType(run, types.provider);
        assert.deepEqual(providers.map((p) => p.inputs.host), ["unix:///var/run/docker.sock"]);
        assert.equal(providers[0].inputs.sshOpts, undefined);
        for (const container of ofType(run, types.container)) {
            for (const port of (container.inputs.ports as { ip: string }[] | undefined) ?? []) assert.equal(port.ip, "127.0.0.1", container.name);
        }
        const volumes = ofType(run, types.volume).filter((v) => v.name === "local-models");
        assert.equal(volumes.length, 1);
        assert.equal(volumes[0].inputs.driverOpts, undefined, "without a NAS the model store is a local volume");
    });
});
