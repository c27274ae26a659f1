import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { projectRoot } from "../harness/program";

/** Every `*.sh` of the project (scripts, container entrypoints), outside dependencies and VCS data. */
function shellScripts(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) return ["node_modules", ".git", ".venv-litellm"].includes(entry.name) ? [] : shellScripts(full);
        return entry.name.endsWith(".sh") ? [full] : [];
    });
}

const shellcheck = (file: string) => spawnSync("shellcheck", ["--severity=style", "--external-sources", file], { cwd: projectRoot, encoding: "utf8" });

describe("shellcheck", () => {
    it("finds a problem in a script that has one (the check can fail)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shellcheck-"));
        const bad = path.join(dir, "bad.sh");
        fs.writeFileSync(bad, "#!/bin/sh\nrm -rf $1/*\n");
        const result = shellcheck(bad);
        fs.rmSync(dir, { recursive: true, force: true });
        assert.notEqual(result.status, 0);
        assert.match(result.stdout, /SC2086/);
    });

    const scripts = [...shellScripts(projectRoot), path.join(projectRoot, ".ci", "run")];
    it("passes every shell script of the project (every *.sh, and .ci/run)", () => {
        assert.ok(scripts.some((s) => s.endsWith("up-machine.sh")) && scripts.some((s) => s.endsWith("destroy-machine.sh")), scripts.join(" "));
        const findings = scripts.map((file) => ({ file, result: shellcheck(file) })).filter(({ result }) => result.status !== 0);
        assert.deepEqual(
            findings.map(({ file, result }) => `${path.relative(projectRoot, file)}:\n${result.stdout}${result.stderr}`),
            [],
        );
    });
});
