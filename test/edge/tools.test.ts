import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { sequentialThinkingVersion, toolsBuildArgs, toolsImageRef } from "../../components/tools/image";
import { isPinned } from "../../config/images";
import { projectRoot } from "../harness/program";

const toolsDir = path.join(projectRoot, "components", "tools");
const entrypoint = path.join(toolsDir, "entrypoint.sh");
const dockerfile = fs.readFileSync(path.join(toolsDir, "Dockerfile"), "utf8");

/** Runs the entrypoint with a fake `mcpo` on the PATH that prints its arguments and whether the key is in its environment. */
function runEntrypoint(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "mcpo-"));
    try {
        fs.writeFileSync(path.join(bin, "mcpo"), '#!/bin/sh\nprintf "%s\\n" "$@"\necho "env-key=${MCPO_API_KEY:-absent}"\n', { mode: 0o755 });
        const result = spawnSync("sh", [entrypoint], { env: { PATH: `${bin}:/usr/bin:/bin`, ...env }, encoding: "utf8" });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
}

describe("the tool server image", () => {
    test("bakes in the pinned Sequential Thinking server at build time, on the configured mcpo base", () => {
        assert.match(dockerfile, /^FROM \$\{MCPO_IMAGE\}$/m);
        assert.match(dockerfile, /npm install --global [^\n]*\\\n\s+"@modelcontextprotocol\/server-sequential-thinking@\$\{SEQUENTIAL_THINKING_VERSION\}"/);
        assert.deepEqual(toolsBuildArgs("ghcr.io/open-webui/mcpo:v0.0.19"), { MCPO_IMAGE: "ghcr.io/open-webui/mcpo:v0.0.19", SEQUENTIAL_THINKING_VERSION: sequentialThinkingVersion });
        assert.match(sequentialThinkingVersion, /^\d+\.\d+\.\d+$/);
        assert.doesNotMatch(dockerfile, /npx|MCPO_API_KEY=/);
    });

    test("is tagged with a pinned reference that changes with anything that goes into the build", () => {
        const files = [{ name: "Dockerfile", content: dockerfile }];
        const ref = toolsImageRef("ghcr.io/open-webui/mcpo:v0.0.19", files);
        assert.ok(isPinned(ref), ref);
        assert.equal(toolsImageRef("ghcr.io/open-webui/mcpo:v0.0.19", files), ref);
        assert.notEqual(toolsImageRef("ghcr.io/open-webui/mcpo:v0.0.20", files), ref);
        assert.notEqual(toolsImageRef("ghcr.io/open-webui/mcpo:v0.0.19", [{ name: "Dockerfile", content: `${dockerfile}\n` }]), ref);
    });
});

describe("the tool server entrypoint", () => {
    test("passes shellcheck", () => {
        execFileSync("shellcheck", ["--shell=sh", entrypoint]);
    });

    test("starts mcpo on the port with the key from the environment, in front of the offline MCP server", () => {
        const run = runEntrypoint({ MCPO_API_KEY: "k-123", MCPO_PORT: "8000" });
        assert.equal(run.status, 0, run.stderr);
        const lines = run.stdout.trim().split("\n");
        assert.deepEqual(lines.slice(0, -1), ["--host", "0.0.0.0", "--port", "8000", "--api-key", "k-123", "--", "mcp-server-sequential-thinking"]);
        assert.equal(lines.at(-1), "env-key=absent", "the key must not reach the MCP server's environment");
    });

    test("refuses to start without a key", () => {
        const run = runEntrypoint({ MCPO_PORT: "8000" });
        assert.notEqual(run.status, 0);
        assert.match(run.stderr, /MCPO_API_KEY/);
        assert.equal(run.stdout, "");
    });
});
