import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { ofType, readStackConfig, runProgram, types } from "../harness/program";

/** Explicit dependencies of every registered resource, by resource name (the mocks do not pass them on). */
const dependencies = new Map<string, string[]>();
/** The inputs as the engine receives them (secret envelopes intact), by resource name. */
const rawInputs = new Map<string, Record<string, unknown>>();
interface RegisterRequest {
    getName(): string;
    getDependenciesList(): string[];
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}
const monitor = MockMonitor.prototype as unknown as { registerResource(req: RegisterRequest, callback: unknown): Promise<void> };
const registerResource = monitor.registerResource;
monitor.registerResource = function (this: unknown, req: RegisterRequest, callback: unknown): Promise<void> {
    dependencies.set(req.getName(), req.getDependenciesList().map((urn) => urn.slice(urn.lastIndexOf("::") + 2)));
    rawInputs.set(req.getName(), req.getObject()?.toJavaScript() ?? {});
    return registerResource.call(this, req, callback);
};

const localCommand = "command:local:Command";

describe("preflight resources", () => {
    it("gives every homelab machine a remote preflight over SSH that every container of the machine waits for", async () => {
        dependencies.clear();
        const run = await runProgram({ ...readStackConfig("Pulumi.homelab.yaml"), ssh: { user: "deploy", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----test" } });
        assert.equal(run.error, undefined, run.error?.message);
        const machines = ofType(run, types.machine).map((m) => m.name);
        const commands = ofType(run, types.command).filter((c) => c.name.endsWith("-preflight"));
        assert.deepEqual(commands.map((c) => c.name).sort(), machines.map((m) => `${m}-preflight`).sort());

        for (const preflight of commands) {
            const machine = preflight.name.replace(/-preflight$/, "");
            assert.equal(preflight.parent, machine);
            const { host, port, user, privateKey } = preflight.inputs.connection as Record<string, unknown>;
            assert.deepEqual(
                { host, port, user, privateKey },
                { host: (run.outputs.machines as Record<string, { address: string }>)[machine].address, port: 22, user: "deploy", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----test" },
            );
            assert.equal(preflight.inputs.create, "sh -s");
            assert.match(String(preflight.inputs.stdin), /docker version/);
            assert.equal((preflight.inputs.triggers as string[]).length, 1);
        }
        const orpheus = commands.find((c) => c.name === "orpheus-preflight");
        assert.match(String(orpheus?.inputs.stdin), /nvidia-smi/);

        const containers = ofType(run, types.container);
        assert.ok(containers.length >= machines.length * 2);
        for (const container of containers) {
            const machine = machines.find((m) => container.name.startsWith(`${m}-`));
            assert.ok(machine, container.name);
            assert.ok(dependencies.get(container.name)?.includes(`${machine}-preflight`), `${container.name} waits for ${machine}-preflight`);
        }
    });

    it("sends the SSH key to the engine only as a secret", async () => {
        rawInputs.clear();
        const run = await runProgram({ ...readStackConfig("Pulumi.homelab.yaml"), ssh: { user: "deploy", privateKey: "key-material" } }, { secretKeys: ["ssh"] });
        assert.equal(run.error, undefined, run.error?.message);
        const raw = rawInputs.get("orpheus-preflight");
        assert.ok(raw, "orpheus-preflight registered");
        const connection = raw.connection as Record<string, unknown>;
        assert.equal(connection["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270", "the connection is a secret");
        assert.doesNotMatch(JSON.stringify(run.outputs), /key-material/);
    });

    it("runs the preflight locally on the single-host stack (unix socket)", async () => {
        dependencies.clear();
        const run = await runProgram(readStackConfig("Pulumi.local.yaml"));
        assert.equal(run.error, undefined, run.error?.message);
        assert.deepEqual(ofType(run, types.command).map((c) => c.name), []);
        const local = ofType(run, localCommand).filter((c) => c.name.endsWith("-preflight"));
        assert.deepEqual(local.map((c) => c.name), ["local-preflight"]);
        assert.equal(local[0].inputs.connection, undefined);
        assert.doesNotMatch(String(local[0].inputs.stdin), /2049/);
        for (const container of ofType(run, types.container)) assert.ok(dependencies.get(container.name)?.includes("local-preflight"), container.name);
    });
});
