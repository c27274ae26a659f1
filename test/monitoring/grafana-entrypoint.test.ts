import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { renderGrafanaEntrypoint } from "../../components/monitoring/grafana";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grafana-entrypoint-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * The wrapper, run by /bin/sh with stand-ins: `grafana` records its arguments, the environment it
 * saw and what it read on stdin; `run.sh` records the environment it was exec'd with (the image's
 * run.sh refuses a variable set both as X and X__FILE).
 */
function runWrapper(grafanaExit: number): { code: number; stderr: string; cli: string; stdin: string; runSh: string | undefined } {
    const work = fs.mkdtempSync(path.join(dir, "run-"));
    const bin = path.join(work, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(work, "admin"), "n3w-admin-pa55word");
    fs.writeFileSync(path.join(work, "database"), "db-pa55word");
    fs.writeFileSync(
        path.join(bin, "grafana"),
        `#!/bin/sh\nprintf '%s\\n' "$*" > ${work}/cli-args\nenv | grep '^GF_' | sort >> ${work}/cli-args\ncat > ${work}/cli-stdin\nexit ${grafanaExit}\n`,
        { mode: 0o755 },
    );
    const runSh = path.join(work, "run.sh");
    fs.writeFileSync(runSh, `#!/bin/sh\nenv | grep '^GF_' | sort > ${work}/run-sh-env\n`, { mode: 0o755 });
    const wrapper = path.join(work, "entrypoint.sh");
    fs.writeFileSync(wrapper, renderGrafanaEntrypoint(), { mode: 0o755 });
    const run = spawnSync("/bin/sh", [wrapper, runSh], {
        env: {
            PATH: `${bin}:/usr/bin:/bin`,
            GF_PATHS_HOME: "/usr/share/grafana",
            GF_PATHS_CONFIG: "/etc/grafana/grafana.ini",
            GF_SECURITY_ADMIN_PASSWORD__FILE: path.join(work, "admin"),
            GF_DATABASE_PASSWORD__FILE: path.join(work, "database"),
            GF_DATABASE_TYPE: "postgres",
        },
        encoding: "utf8",
    });
    const read = (name: string) => (fs.existsSync(path.join(work, name)) ? fs.readFileSync(path.join(work, name), "utf8") : undefined);
    return { code: run.status ?? -1, stderr: run.stderr, cli: read("cli-args") ?? "", stdin: read("cli-stdin") ?? "", runSh: read("run-sh-env") };
}

describe("Grafana's entrypoint wrapper", () => {
    it("passes shellcheck as POSIX sh", () => {
        const file = path.join(dir, "grafana-entrypoint.sh");
        fs.writeFileSync(file, renderGrafanaEntrypoint());
        const check = spawnSync("shellcheck", ["--shell=sh", "--severity=style", file], { encoding: "utf8" });
        assert.equal(check.status, 0, check.stdout + check.stderr);
    });

    it("sets the admin password from its file through stdin (never argv), with the database password the CLI needs, then execs run.sh unchanged", () => {
        const run = runWrapper(0);
        assert.equal(run.code, 0, run.stderr);
        const [args, ...cliEnv] = run.cli.trim().split("\n");
        assert.equal(args, "cli --homepath /usr/share/grafana --config /etc/grafana/grafana.ini admin reset-admin-password --password-from-stdin");
        assert.equal(run.stdin, "n3w-admin-pa55word");
        assert.ok(!args.includes("pa55word"), "no password on the command line");
        assert.ok(cliEnv.includes("GF_DATABASE_PASSWORD=db-pa55word"), "the CLI reaches the database");
        assert.ok(!cliEnv.some((line) => line.includes("__FILE")), "the CLI sees values, not *__FILE");

        assert.ok(run.runSh !== undefined, "run.sh was exec'd");
        const runShEnv = run.runSh.trim().split("\n");
        assert.ok(runShEnv.some((line) => line.startsWith("GF_DATABASE_PASSWORD__FILE=")));
        assert.ok(runShEnv.some((line) => line.startsWith("GF_SECURITY_ADMIN_PASSWORD__FILE=")));
        assert.ok(!runShEnv.some((line) => /^GF_(DATABASE|SECURITY_ADMIN)_PASSWORD=/.test(line)), "run.sh would refuse a variable set both ways");
    });

    it("says so in the log when the password cannot be set, and starts Grafana anyway (on an empty database Grafana creates the admin from the same file)", () => {
        const run = runWrapper(1);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /WARNING: could not set the Grafana admin password from .*admin/);
        assert.ok(run.runSh !== undefined, "run.sh was exec'd");
    });
});
