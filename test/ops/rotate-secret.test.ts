import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { generatedSecretNames } from "../../components/secrets/secrets";
import { fakePulumi } from "../harness/fake-pulumi";
import { projectRoot } from "../harness/program";

const script = path.join(projectRoot, "scripts/rotate-secret.sh");

function rotate(args: string[], input: string, pulumi: string) {
    return spawnSync("bash", [script, ...args], { input, encoding: "utf8", env: { ...process.env, PULUMI: pulumi } });
}

describe("scripts/rotate-secret.sh", () => {
    test("replaces the secret's RandomPassword and applies the whole stack, after the name is typed", () => {
        const pulumi = fakePulumi();
        const result = rotate(["grafana-admin"], "grafana-admin\n", pulumi.command);
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(pulumi.calls(), [
            "up --stack homelab --replace urn:pulumi:homelab::ai-platform::ai-platform:secrets:PlatformSecrets$random:index/randomPassword:RandomPassword::platform-grafana-admin --yes",
        ]);
    });

    test("changes nothing when the confirmation does not match", () => {
        const pulumi = fakePulumi();
        const result = rotate(["postgres-litellm", "--stack", "homelab"], "postgres\n", pulumi.command);
        assert.equal(result.status, 1);
        assert.match(result.stderr, /aborted: nothing was changed/);
        assert.deepEqual(pulumi.calls(), []);
    });

    test("knows every generated secret, refuses the salt key and unknown names", () => {
        const listed = /secrets=\(([^)]*)\)/.exec(fs.readFileSync(script, "utf8"))?.[1].split(/\s+/).filter(Boolean);
        assert.deepEqual(listed, [...generatedSecretNames]);
        const pulumi = fakePulumi();
        for (const name of generatedSecretNames.filter((n) => n !== "litellm-salt-key")) {
            assert.equal(rotate([name, "--yes", "--stack", "lab"], "", pulumi.command).status, 0, name);
        }
        const salt = rotate(["litellm-salt-key", "--yes"], "", pulumi.command);
        assert.equal(salt.status, 2);
        assert.match(salt.stderr, /cannot be rotated/);
        const unknown = rotate(["grafana", "--yes"], "", pulumi.command);
        assert.equal(unknown.status, 2);
        assert.match(unknown.stderr, /not a generated secret/);
        assert.equal(pulumi.calls().length, generatedSecretNames.length - 1);
    });
});
