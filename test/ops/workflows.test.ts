import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { projectRoot } from "../harness/program";

interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}
interface Workflow {
    on: Record<string, unknown>;
    permissions: Record<string, string>;
    jobs: Record<string, { "runs-on": string | string[]; if?: string; container?: string; steps: Step[] }>;
}

const workflow = (name: string) => parse(fs.readFileSync(path.join(projectRoot, ".github", "workflows", name), "utf8")) as Workflow;

describe("GitHub workflows", () => {
    it("previews the homelab stack on pull requests with pulumi/actions v7 on a runner in the lab, commenting on the PR", () => {
        const preview = workflow("preview.yml");
        assert.deepEqual(Object.keys(preview.on), ["pull_request"]);
        assert.equal(preview.permissions["pull-requests"], "write");
        const job = preview.jobs.preview;
        assert.ok(([] as string[]).concat(job["runs-on"]).includes("self-hosted"));
        assert.match(job.if ?? "", /head\.repo\.full_name == github\.repository/, "no fork code on the lab's runner");
        const install = job.steps.findIndex((s) => s.run?.startsWith("npm ci"));
        const action = job.steps.findIndex((s) => s.uses === "pulumi/actions@v7");
        assert.ok(install >= 0 && action > install, "dependencies are installed before the action runs the program");
        const step = job.steps[action];
        assert.equal(step.with?.command, "preview");
        assert.equal(step.with?.["stack-name"], "homelab");
        assert.equal(step.with?.["comment-on-pr"], true);
        assert.equal(step.with?.["cloud-url"], "${{ secrets.PULUMI_BACKEND_URL }}");
        assert.equal(step.env?.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
        const pinned = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")).devDependencies.pulumi as string;
        assert.equal(step.with?.["pulumi-version"], pinned, "the same CLI as the pinned devDependency");
    });

    it("runs the tests through .ci/run on every push, as root on Debian", () => {
        const test = workflow("test.yml");
        assert.deepEqual(Object.keys(test.on), ["push"]);
        const job = test.jobs.test;
        assert.match(job.container ?? "", /bookworm/);
        assert.ok(job.steps.some((s) => s.run === "bash .ci/run"));
    });
});
