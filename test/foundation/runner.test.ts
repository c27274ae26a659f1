import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import YAML from "yaml";
import { figures, projectRuntime, root, runOnce } from "../../scripts/bench/runner";
import { ofType, readStackConfig, runProgram } from "../harness/program";

describe("the program under Pulumi's own runner, started as Pulumi.yaml says", () => {
    test("loads the TypeScript program from a fresh clone, without ts-node or a build step", async () => {
        const runtime = projectRuntime();
        assert.equal(runtime.typescript, false, "the runner's ts-node type-checks the whole program at every cold start");
        const run = runOnce(root, path.join(root, "Pulumi.local.yaml"), runtime);
        assert.equal(run.status, 0, run.stderr);
        const underMocks = await runProgram(readStackConfig("Pulumi.local.yaml"));
        const containers = ofType(underMocks, "docker:index/container:Container").length;
        assert.ok(containers > 15, `${containers} containers`);
        assert.equal(figures(run.stdout)?.customResources, underMocks.resources.filter((r) => r.custom).length);
    });

    test("a broken stack config stops the runner with the validation message, no stack trace, and no resource", () => {
        const stack = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.local.yaml"), "utf8")) as { config: Record<string, { local: { memoryGb: number } }> };
        stack.config["ai-platform:machines"].local.memoryGb = -4;
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ai-platform-runner-")), "Pulumi.broken.yaml");
        fs.writeFileSync(file, YAML.stringify(stack));
        const run = runOnce(root, file, projectRuntime());
        assert.notEqual(run.status, 0);
        assert.match(run.stderr, /invalid stack config .*nothing was deployed/);
        assert.match(run.stderr, /ai-platform:machines\.local\.memoryGb: .*-4/);
        assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
        assert.equal(figures(run.stdout)?.customResources, 0);
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    });
});
