import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { validatePlatform } from "../../config/platform";
import { place } from "../../machines/placement";
import { ofType, ProgramRun, readStackConfig, RegisteredResource, runProgram, StackConfig, types } from "../harness/program";

/** The homelab's ten machines without a NAS: every model store and the backups are local to their machine. */
const homelab = readStackConfig("Pulumi.homelab.yaml");
const nasless: StackConfig = { ...homelab, nas: undefined, ollama: {} };
const models = homelab.models as { name: string; nodes: string[] }[];
const inferenceMachines = ["orpheus", "kratos", "nyx", "hades"];
const slug = (model: string) => model.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");

type Volume = { containerPath: string; volumeName?: string };
const envOf = (container: RegisteredResource) => Object.fromEntries(((container.inputs.envs as string[]) ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));

describe("a lab without a NAS, under mocks", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(nasless);
        assert.equal(run.error, undefined, run.error?.message);
    });

    test("creates no NFS volume at all", () => {
        const volumes = ofType(run, types.volume);
        assert.ok(volumes.length > 0);
        for (const volume of volumes) assert.notEqual((volume.inputs.driverOpts as { type?: string } | undefined)?.type, "nfs", volume.name);
    });

    test("gives each inference machine its own local model store, kept when the machine goes", () => {
        const volumes = ofType(run, types.volume);
        for (const machine of inferenceMachines) {
            const store = volumes.find((v) => v.name === `${machine}-models`);
            assert.ok(store, `${machine}-models`);
            assert.equal(store.inputs.driverOpts, undefined);
            assert.equal(store.parent, machine);
            assert.equal(store.retainOnDelete, true, `${machine}-models must be retained on delete`);
            const ollama = ofType(run, types.container).find((c) => c.name === `${machine}-ollama`);
            assert.ok(ollama);
            assert.ok((ollama.inputs.volumes as Volume[]).some((v) => v.volumeName === store.inputs.name && v.containerPath === "/models"));
        }
        assert.equal(volumes.find((v) => v.name === "moros-models"), undefined);
    });

    test("every inference machine pulls exactly the models it serves, and none runs with OLLAMA_NOPRUNE", () => {
        const commands = ofType(run, types.command);
        for (const machine of inferenceMachines) {
            const served = models.filter((m) => m.nodes.includes(machine)).map((m) => m.name);
            const pulls = commands.filter((c) => c.name.startsWith(`${machine}-inference-pull-`)).map((c) => c.name).sort();
            assert.deepEqual(pulls, served.map((m) => `${machine}-inference-pull-${slug(m)}`).sort(), machine);
            for (const model of served) {
                const warm = commands.find((c) => c.name === `${machine}-inference-warm-${slug(model)}`);
                assert.ok(warm, `${machine} warms ${model}`);
                assert.ok(warm.dependsOn.includes(`${machine}-inference-pull-${slug(model)}`), `${machine}'s warm-up of ${model} waits for its own pull, not another node's: ${warm.dependsOn.join(", ")}`);
            }
            const list = commands.find((c) => c.name === `${machine}-inference-model-list`);
            assert.ok(list, `${machine} lists the models of its own store`);
            for (const model of served) assert.match(String(list.inputs.create), new RegExp(`^${model.replace(/[.]/g, "\\.")}$`, "m"));
            const ollama = ofType(run, types.container).find((c) => c.name === `${machine}-ollama`);
            assert.ok(ollama);
            assert.equal(envOf(ollama).OLLAMA_NOPRUNE, undefined, `${machine} is the only writer of its store`);
        }
    });

    test("backs the databases up to a local volume on the database machine, kept when the machine goes", () => {
        const backups = ofType(run, types.volume).find((v) => v.name === "erebus-backups");
        assert.ok(backups);
        assert.equal(backups.parent, "erebus");
        assert.equal(backups.inputs.driverOpts, undefined);
        assert.equal(backups.retainOnDelete, true);
        const container = ofType(run, types.container).find((c) => c.name === "erebus-postgres-backup");
        assert.ok(container);
        assert.ok((container.inputs.volumes as Volume[]).some((v) => v.volumeName === backups.inputs.name && v.containerPath === "/backups"));
    });

    test("checks no NFS server in any machine's preflight", () => {
        for (const preflight of ofType(run, types.command).filter((c) => c.name.endsWith("-preflight"))) {
            assert.doesNotMatch(String(preflight.inputs.stdin), /2049|showmount/, preflight.name);
        }
    });
});

describe("a lab without a NAS and postgres.backupHostPath", () => {
    test("binds the backups volume to that directory on the database machine", async () => {
        const run = await runProgram({ ...nasless, postgres: { backupHostPath: "/srv/ai-backups" } });
        assert.equal(run.error, undefined, run.error?.message);
        const backups = ofType(run, types.volume).find((v) => v.name === "erebus-backups");
        assert.ok(backups);
        assert.deepEqual(backups.inputs.driverOpts, { type: "none", o: "bind", device: "/srv/ai-backups" });
        assert.equal(backups.retainOnDelete, true);
    });
});

describe("placement without a NAS", () => {
    test("makes every inference machine the writer of its own store, and no machine the writer of a shared one", () => {
        const result = validatePlatform(nasless);
        assert.ok(result.ok);
        const placement = place(result.config);
        assert.equal(placement.sharedModelStore, false);
        assert.equal(placement.modelStoreWriter, undefined);
        assert.deepEqual(placement.machines.filter((m) => m.modelStoreWriter).map((m) => m.name).sort(), [...inferenceMachines].sort());
        assert.deepEqual(placement.machines.find((m) => m.name === "erebus")?.mounts, ["backups"]);
    });

    test("keeps the single shared writer with a NAS", () => {
        const result = validatePlatform(homelab);
        assert.ok(result.ok);
        const placement = place(result.config);
        assert.equal(placement.sharedModelStore, true);
        assert.deepEqual(placement.machines.filter((m) => m.modelStoreWriter).map((m) => m.name), ["orpheus"]);
    });
});
