import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, test } from "node:test";
import { fakePulumi } from "../harness/fake-pulumi";
import { projectRoot } from "../harness/program";

function destroyMachine(args: string[], input: string, pulumi: string) {
    return spawnSync("bash", [path.join(projectRoot, "scripts/destroy-machine.sh"), ...args], { input, encoding: "utf8", env: { ...process.env, PULUMI: pulumi } });
}

describe("scripts/destroy-machine.sh", () => {
    test("targets the machine's component with its dependents, after the name is typed", () => {
        const pulumi = fakePulumi();
        const result = destroyMachine(["kratos"], "kratos\n", pulumi.command);
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(pulumi.calls(), [
            "destroy --stack homelab --target urn:pulumi:homelab::ai-platform::ai-platform:machines:Machine::kratos --target-dependents --yes",
        ]);
    });

    test("destroys nothing when the confirmation does not match", () => {
        const pulumi = fakePulumi();
        const result = destroyMachine(["kratos", "--stack", "homelab"], "nyx\n", pulumi.command);
        assert.equal(result.status, 1);
        assert.match(result.stderr, /aborted: nothing was destroyed/);
        assert.deepEqual(pulumi.calls(), []);
    });

    test("--yes skips the prompt and --stack picks the stack", () => {
        const pulumi = fakePulumi();
        const result = destroyMachine(["hades", "--stack", "lab2", "--yes"], "", pulumi.command);
        assert.equal(result.status, 0, result.stderr);
        assert.match(pulumi.calls()[0], /^destroy --stack lab2 --target urn:pulumi:lab2::ai-platform::ai-platform:machines:Machine::hades --target-dependents/);
    });

    test("refuses a name that is not a machine name, and prints usage without one", () => {
        const pulumi = fakePulumi();
        assert.equal(destroyMachine(["../etc"], "", pulumi.command).status, 2);
        const noName = destroyMachine([], "", pulumi.command);
        assert.equal(noName.status, 2);
        assert.match(noName.stderr, /Usage: scripts\/destroy-machine.sh NAME/);
        assert.deepEqual(pulumi.calls(), []);
    });
});
