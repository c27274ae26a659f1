import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { projectRoot, readStackConfig, RegisteredResource, runProgram } from "../harness/program";

/** A stand-in for the Pulumi CLI that records each call, one argument per line. */
function fakePulumi(): { command: string; calls: () => string[][] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-"));
    const log = path.join(dir, "calls");
    const command = path.join(dir, "pulumi");
    fs.writeFileSync(command, `#!/bin/sh\nif [ "$1" = stack ]; then echo homelab; exit 0; fi\nprintf '%s\\n' "$@" >> "${log}"\necho --- >> "${log}"\n`, { mode: 0o755 });
    const calls = () =>
        fs.existsSync(log)
            ? fs.readFileSync(log, "utf8").split("---\n").filter((c) => c !== "").map((c) => c.trim().split("\n"))
            : [];
    return { command, calls };
}

function upMachine(args: string[], pulumi: string) {
    return spawnSync("bash", [path.join(projectRoot, "scripts/up-machine.sh"), ...args], { encoding: "utf8", env: { ...process.env, PULUMI: pulumi } });
}

/** The engine's URN glob semantics (pulumi pkg/resource/deploy UrnTargets): ** is anything, * stays within a URN part. */
function globMatches(glob: string, urn: string): boolean {
    const pattern = glob
        .split("**")
        .map((segment) => segment.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[^:]*"))
        .join(".*");
    return new RegExp(`^${pattern}$`).test(urn);
}

const targetsOf = (call: string[]) => call.flatMap((arg, i) => (call[i - 1] === "--target" ? [arg] : []));

describe("scripts/up-machine.sh", () => {
    it("runs pulumi up targeted at the machine, everything below it, the secrets and the stack", () => {
        const pulumi = fakePulumi();
        const result = upMachine(["kratos", "--yes"], pulumi.command);
        assert.equal(result.status, 0, result.stderr);
        const [call] = pulumi.calls();
        assert.deepEqual(call.slice(0, 3), ["up", "--stack", "homelab"]);
        assert.equal(call.at(-1), "--yes");
        const targets = targetsOf(call);
        const matched = (urn: string) => targets.some((t) => globMatches(t, urn));
        const p = "urn:pulumi:homelab::ai-platform::";
        for (const urn of [
            `${p}pulumi:pulumi:Stack::ai-platform-homelab`,
            `${p}ai-platform:secrets:PlatformSecrets::platform`,
            `${p}ai-platform:secrets:PlatformSecrets$random:index/randomPassword:RandomPassword::platform-postgres-superuser`,
            `${p}ai-platform:machines:Machine::kratos`,
            `${p}ai-platform:machines:Machine$pulumi:providers:docker::kratos-docker`,
            `${p}ai-platform:machines:Machine$command:remote:Command::kratos-preflight`,
            `${p}ai-platform:machines:Machine$docker:index/container:Container::kratos-node-exporter`,
            `${p}ai-platform:machines:Machine$ai-platform:ollama:Ollama$docker:index/container:Container::kratos-ollama`,
        ]) {
            assert.ok(matched(urn), `targets ${urn}`);
        }
        for (const urn of [
            `${p}ai-platform:machines:Machine::nyx`,
            `${p}ai-platform:machines:Machine$docker:index/container:Container::nyx-node-exporter`,
            `${p}ai-platform:machines:Machine$ai-platform:ollama:Ollama$docker:index/container:Container::nyx-ollama`,
        ]) {
            assert.ok(!matched(urn), `leaves ${urn} alone`);
        }
    });

    it("asks before applying unless --yes, previews with --preview, and takes --stack", () => {
        const pulumi = fakePulumi();
        assert.equal(upMachine(["erebus"], pulumi.command).status, 0);
        assert.equal(upMachine(["erebus", "--preview", "--stack", "lab2"], pulumi.command).status, 0);
        const calls = pulumi.calls();
        assert.equal(calls.length, 2, "one pulumi call per run: a preview applies nothing");
        const [up, preview] = calls;
        assert.ok(!up.includes("--yes"), "pulumi up asks for confirmation itself");
        assert.deepEqual(preview.slice(0, 3), ["preview", "--stack", "lab2"]);
        assert.ok(targetsOf(preview).includes("urn:pulumi:lab2::ai-platform::ai-platform:machines:Machine::erebus"));
    });

    it("refuses a name that is not a machine name and prints usage with the seed's order", () => {
        const pulumi = fakePulumi();
        assert.equal(upMachine(["../etc"], pulumi.command).status, 2);
        const noName = upMachine([], pulumi.command);
        assert.equal(noName.status, 2);
        assert.match(noName.stderr, /erebus hephaestus thanatos zelus orpheus kratos nyx hades moros local/);
        assert.deepEqual(pulumi.calls(), []);
    });

    it("targets exactly the machine's resources and the secrets in the real program (every resource below a Machine is named <machine>-...)", async () => {
        const run = await runProgram(readStackConfig("Pulumi.homelab.yaml"));
        assert.equal(run.error, undefined, run.error?.message);
        // Parents are known by name; a component and its container may share one, and only components parent.
        const components = new Map(run.resources.filter((r) => !r.custom).map((r) => [r.name, r]));
        const qualifiedType = (r: RegisteredResource): string => {
            const parent = r.parent === undefined ? undefined : components.get(r.parent);
            return parent === undefined ? r.type : `${qualifiedType(parent)}$${r.type}`;
        };
        const root = (r: RegisteredResource): RegisteredResource => {
            const parent = r.parent === undefined ? undefined : components.get(r.parent);
            return parent === undefined ? r : root(parent);
        };
        const pulumi = fakePulumi();
        for (const machine of ["erebus", "kratos"]) {
            assert.equal(upMachine([machine, "--stack", "test", "--yes"], pulumi.command).status, 0);
            const targets = targetsOf(pulumi.calls().at(-1) ?? []);
            let count = 0;
            for (const resource of run.resources) {
                const urn = `urn:pulumi:test::ai-platform::${qualifiedType(resource)}::${resource.name}`;
                const top = root(resource);
                const expected = top.name === "platform" || (top.type === "ai-platform:machines:Machine" && top.name === machine);
                assert.equal(targets.some((t) => globMatches(t, urn)), expected, `${machine}: ${urn}`);
                if (expected) count++;
            }
            assert.ok(count > 20, `${machine}: ${count} resources targeted`);
        }
    });
});
