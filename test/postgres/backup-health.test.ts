import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { stringify } from "yaml";
import { backupHookPath, backupMaxAgeSeconds, backupMetrics, backupMetricsFile, renderBackupHook } from "../../components/postgres/backup";
import { renderAlertRules } from "../../components/monitoring/rules";
import { scheduleIntervalSeconds } from "../../config/schedule";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-hook-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * The image's backup.sh calls its hooks with run-parts (Debian's, as in the image):
 * `run-parts -a pre-backup --exit-on-error /hooks` before the dumps,
 * `run-parts -a post-backup --reverse --exit-on-error /hooks` after them, and
 * `run-parts -a error /hooks` from its ERR trap. `date` is a stand-in printing `now`, so nothing
 * depends on the clock.
 */
function runHooks(hooksDir: string, bin: string, action: "pre-backup" | "post-backup" | "error", now: number): { code: number; stderr: string } {
    fs.writeFileSync(path.join(bin, "date"), `#!/bin/sh\necho ${now}\n`, { mode: 0o755 });
    const args = action === "pre-backup" ? ["-a", action, "--exit-on-error", hooksDir] : action === "post-backup" ? ["-a", action, "--reverse", "--exit-on-error", hooksDir] : ["-a", action, hooksDir];
    const run = spawnSync("run-parts", args, { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
    return { code: run.status ?? -1, stderr: run.stderr };
}

function metricsOf(file: string): Record<string, number> {
    return Object.fromEntries(
        fs
            .readFileSync(file, "utf8")
            .split("\n")
            .filter((line) => line !== "" && !line.startsWith("#"))
            .map((line) => line.split(" "))
            .map(([name, value]) => [name, Number(value)]),
    );
}

describe("backup schedule: the longest gap between runs", () => {
    it("reads go-cron's descriptors, @every durations and cron expressions (an upper bound), and rejects the rest", () => {
        const cases: [string, number | undefined][] = [
            ["@daily", 86400],
            ["@hourly", 3600],
            ["@weekly", 7 * 86400],
            ["@every 6h", 21600],
            ["@every 1h30m", 5400],
            ["30 2 * * *", 86400],
            ["0 */6 * * *", 21600],
            ["*/15 * * * *", 900],
            ["0 30 2 * * *", 86400],
            ["0 3 * * 0", 7 * 86400],
            ["0 3 1 * *", 31 * 86400],
            ["daily", undefined],
            ["@every soon", undefined],
            ["0 3 * *", undefined],
        ];
        for (const [schedule, seconds] of cases) assert.equal(scheduleIntervalSeconds(schedule), seconds, schedule);
        assert.equal(backupMaxAgeSeconds(86400), 90000, "a daily backup is overdue after 25 hours");
        assert.equal(backupMaxAgeSeconds(900), 1800, "a 15-minute one after 30 minutes");
    });
});

describe("the backup container's hook, run the way backup.sh runs it", () => {
    const hooksDir = path.join(dir, "hooks");
    const metricsDir = path.join(dir, "textfile");
    const bin = path.join(dir, "bin");
    for (const d of [hooksDir, metricsDir, bin]) fs.mkdirSync(d);
    const file = path.join(metricsDir, backupMetricsFile);
    const hook = path.join(hooksDir, path.basename(backupHookPath));
    fs.writeFileSync(hook, renderBackupHook({ metricsDir, maxAgeSeconds: 90000 }), { mode: 0o755 });
    // The image's own webhook hook sorts first and does nothing without WEBHOOK_URL.
    fs.writeFileSync(path.join(hooksDir, "00-webhook"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });

    it("is a name run-parts runs, and passes shellcheck as POSIX sh", () => {
        const listed = spawnSync("run-parts", ["--test", hooksDir], { encoding: "utf8" }).stdout.trim().split("\n");
        assert.deepEqual(listed, [path.join(hooksDir, "00-webhook"), hook]);
        const check = spawnSync("shellcheck", ["--shell=sh", "--severity=style", hook], { encoding: "utf8" });
        assert.equal(check.status, 0, check.stdout + check.stderr);
    });

    it("records a failure before any success as never succeeded, then a success, then keeps that success through a later failure", () => {
        assert.equal(runHooks(hooksDir, bin, "pre-backup", 1000).code, 0, "pre-backup never stops a backup");
        assert.ok(!fs.existsSync(file), "pre-backup writes nothing");

        assert.equal(runHooks(hooksDir, bin, "error", 2000).code, 0);
        assert.deepEqual(metricsOf(file), { [backupMetrics.lastSuccess]: 0, [backupMetrics.lastRun]: 2000, [backupMetrics.lastRunSuccess]: 0, [backupMetrics.maxAge]: 90000 });

        assert.equal(runHooks(hooksDir, bin, "post-backup", 3000).code, 0);
        assert.deepEqual(metricsOf(file), { [backupMetrics.lastSuccess]: 3000, [backupMetrics.lastRun]: 3000, [backupMetrics.lastRunSuccess]: 1, [backupMetrics.maxAge]: 90000 });

        assert.equal(runHooks(hooksDir, bin, "error", 90_000).code, 0);
        assert.deepEqual(metricsOf(file), { [backupMetrics.lastSuccess]: 3000, [backupMetrics.lastRun]: 90_000, [backupMetrics.lastRunSuccess]: 0, [backupMetrics.maxAge]: 90000 });
        assert.equal((fs.statSync(file).mode & 0o777).toString(8), "644", "node-exporter (nobody) reads it");
        assert.deepEqual(fs.readdirSync(metricsDir), [backupMetricsFile], "no temporary file left behind");
    });

    it("writes what node-exporter's textfile collector accepts (promtool check metrics)", () => {
        const check = spawnSync("promtool", ["check", "metrics"], { input: fs.readFileSync(file), encoding: "utf8" });
        assert.equal(check.status, 0, check.stdout + check.stderr);
    });

    it("never fails the backup, even when it cannot write the file", () => {
        const readOnly = path.join(dir, "nowhere");
        const broken = path.join(dir, "broken-hooks");
        fs.mkdirSync(broken);
        fs.writeFileSync(path.join(broken, "50-ai-platform-metrics"), renderBackupHook({ metricsDir: readOnly, maxAgeSeconds: 90000 }), { mode: 0o755 });
        const run = runHooks(broken, bin, "post-backup", 4000);
        assert.equal(run.code, 0);
        assert.match(run.stderr, /cannot write/);
    });
});

describe("backup alerts (promtool test rules on the hook's metrics as node-exporter exposes them)", () => {
    const node = { job: "node-exporter", instance: "192.168.10.11:9100", machine: "erebus", service: "node-exporter" };
    const labels = Object.entries(node).map(([k, v]) => `${k}="${v}"`).join(", ");
    const series = (name: string, values: string) => ({ series: `${name}{${labels}}`, values });

    it("PostgresBackupFailed fires on a failed run and clears with the next good one; PostgresBackupTooOld fires once the last success is older than the schedule allows", () => {
        const tests = [
            {
                name: "a failed run",
                interval: "1m",
                input_series: [series(backupMetrics.lastRunSuccess, "1 1 0 0 0 1 1"), series(backupMetrics.lastSuccess, "0x6"), series(backupMetrics.maxAge, "90000x6")],
                alert_rule_test: [
                    { eval_time: "1m", alertname: "PostgresBackupFailed", exp_alerts: [] },
                    {
                        eval_time: "3m",
                        alertname: "PostgresBackupFailed",
                        exp_alerts: [{ exp_labels: { ...node, severity: "critical" }, exp_annotations: { summary: "the last PostgreSQL backup on erebus failed (docker logs erebus-postgres-backup)" } }],
                    },
                    { eval_time: "6m", alertname: "PostgresBackupFailed", exp_alerts: [] },
                ],
            },
            {
                // A daily backup succeeded at t=1h and never again: overdue after 25 h (90000 s).
                name: "a backup that stopped running",
                interval: "1m",
                input_series: [series(backupMetrics.lastRunSuccess, "1x1600"), series(backupMetrics.lastSuccess, "3600x1600"), series(backupMetrics.maxAge, "90000x1600")],
                alert_rule_test: [
                    { eval_time: "26h", alertname: "PostgresBackupTooOld", exp_alerts: [] },
                    { eval_time: "26h5m", alertname: "PostgresBackupTooOld", exp_alerts: [] },
                    {
                        eval_time: "26h15m",
                        alertname: "PostgresBackupTooOld",
                        exp_alerts: [{ exp_labels: { ...node, severity: "critical" }, exp_annotations: { summary: "the last good PostgreSQL backup on erebus is 1d 1h 15m 0s old, more than its schedule allows" } }],
                    },
                ],
            },
            {
                name: "a daily backup on time",
                interval: "1h",
                input_series: [series(backupMetrics.lastRunSuccess, "1x72"), series(backupMetrics.lastSuccess, "0 0+0x23 86400+0x23 172800+0x24"), series(backupMetrics.maxAge, "90000x72")],
                alert_rule_test: [{ eval_time: "71h", alertname: "PostgresBackupTooOld", exp_alerts: [] }],
            },
        ];
        const work = fs.mkdtempSync(path.join(dir, "rules-"));
        fs.writeFileSync(path.join(work, "platform.yml"), renderAlertRules());
        fs.writeFileSync(path.join(work, "backup.test.yml"), stringify({ rule_files: ["platform.yml"], evaluation_interval: "1m", tests }));
        const run = spawnSync("promtool", ["test", "rules", "backup.test.yml"], { cwd: work, encoding: "utf8" });
        assert.equal(run.status, 0, run.stdout + run.stderr);
    });
});
