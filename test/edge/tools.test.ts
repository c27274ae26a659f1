import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { sequentialThinkingVersion, toolsBuildArgs, toolsImageRef } from "../../components/tools/image";
import { isPinned } from "../../config/images";
import { projectRoot } from "../harness/program";

const toolsDir = path.join(projectRoot, "components", "tools");
const entrypoint = path.join(toolsDir, "entrypoint.py");
const dockerfile = fs.readFileSync(path.join(toolsDir, "Dockerfile"), "utf8");

/**
 * Runs the entrypoint with Python and a stand-in `mcpo` package (mcpo's own entry point is
 * `mcpo = "mcpo:app"`) whose app() prints the arguments it parses (sys.argv), the process's command
 * line as `ps` sees it (/proc/self/cmdline), and whether the key or its file reached the environment
 * the MCP server would inherit.
 */
function runEntrypoint(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    const lib = fs.mkdtempSync(path.join(os.tmpdir(), "mcpo-"));
    try {
        fs.mkdirSync(path.join(lib, "mcpo"));
        fs.writeFileSync(
            path.join(lib, "mcpo", "__init__.py"),
            [
                "import json, os, sys",
                "def app():",
                "    cmdline = open('/proc/self/cmdline', 'rb').read().split(b'\\0')",
                "    print(json.dumps({'argv': sys.argv[1:], 'cmdline': [c.decode() for c in cmdline if c], 'env': sorted(k for k in os.environ if k.startswith('MCPO_'))}))",
                "",
            ].join("\n"),
        );
        const result = spawnSync("python3", [entrypoint], { env: { PATH: "/usr/bin:/bin", PYTHONPATH: lib, ...env }, encoding: "utf8" });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    } finally {
        fs.rmSync(lib, { recursive: true, force: true });
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
    const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mcpo-key-")), "key");
    fs.writeFileSync(keyFile, "k-123\n");

    test("starts mcpo on the port with the key from its file: in mcpo's arguments, not in the process's command line or the MCP server's environment", () => {
        const run = runEntrypoint({ MCPO_API_KEY_FILE: keyFile, MCPO_PORT: "8000" });
        assert.equal(run.status, 0, run.stderr);
        const seen = JSON.parse(run.stdout) as { argv: string[]; cmdline: string[]; env: string[] };
        assert.deepEqual(seen.argv, ["--host", "0.0.0.0", "--port", "8000", "--api-key", "k-123", "--", "mcp-server-sequential-thinking"]);
        assert.ok(!seen.cmdline.join(" ").includes("k-123"), `ps shows ${seen.cmdline.join(" ")}`);
        assert.deepEqual(seen.env, ["MCPO_PORT"], "neither the key nor its path reaches the MCP server's environment");
    });

    test("refuses to start without a key, or with an empty or unreadable key file", () => {
        const missing = runEntrypoint({ MCPO_PORT: "8000" });
        assert.notEqual(missing.status, 0);
        assert.match(missing.stderr, /MCPO_API_KEY_FILE/);
        assert.equal(missing.stdout, "");
        const emptyFile = path.join(path.dirname(keyFile), "empty");
        fs.writeFileSync(emptyFile, "\n");
        const empty = runEntrypoint({ MCPO_API_KEY_FILE: emptyFile, MCPO_PORT: "8000" });
        assert.notEqual(empty.status, 0);
        assert.match(empty.stderr, /is empty/);
        const absent = runEntrypoint({ MCPO_API_KEY_FILE: path.join(path.dirname(keyFile), "absent"), MCPO_PORT: "8000" });
        assert.notEqual(absent.status, 0);
        assert.match(absent.stderr, /cannot read the API key/);
    });

    test("the image runs it with the venv's Python, which must import mcpo (checked at build time)", () => {
        assert.match(fs.readFileSync(entrypoint, "utf8"), /^#!\/usr\/bin\/env python\n/);
        assert.match(dockerfile, /COPY entrypoint\.py \/usr\/local\/bin\/mcpo-entrypoint/);
        assert.match(dockerfile, /python -c "import mcpo; mcpo\.app"/);
        assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/local\/bin\/mcpo-entrypoint"\]$/m);
    });
});
