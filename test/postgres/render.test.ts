import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { backupEnvironment } from "../../components/postgres/backup";
import { renderPrimaryEntrypoint, renderReplicaEntrypoint } from "../../components/postgres/bootstrap";
import { renderInitScript } from "../../components/postgres/init";
import { dataLayout } from "../../components/postgres/layout";
import { majorVersion } from "../../config/images";
import { renderHba, serverCommand, serverSettings } from "../../components/postgres/server";
import { projectRoot } from "../harness/program";
import { Sandbox, run } from "./cluster";

const scripts = ["restore-db.sh", "promote-replica.sh"].map((name) => path.join(projectRoot, "scripts", name));

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "ai-platform-pg-render-"));
}

describe("PostgreSQL version and data layout", () => {
    it("reads the major version from the image tag", () => {
        assert.equal(majorVersion("postgres:17.6-bookworm"), 17);
        assert.equal(majorVersion("docker.io/library/postgres:18"), 18);
        assert.equal(majorVersion("prodrigestivill/postgres-backup-local:16-debian-bookworm"), 16);
        assert.equal(majorVersion("registry:5000/postgres:17.2"), 17);
        assert.equal(majorVersion("postgres@sha256:" + "0".repeat(64)), undefined);
        assert.equal(majorVersion("postgres:bookworm"), undefined);
    });

    it("mounts the data volume where the pinned major keeps PGDATA (18 moved it)", () => {
        assert.deepEqual(dataLayout(17), { mountPath: "/var/lib/postgresql/data", pgdata: "/var/lib/postgresql/data" });
        assert.deepEqual(dataLayout(18), { mountPath: "/var/lib/postgresql", pgdata: "/var/lib/postgresql/18/docker" });
    });
});

describe("PostgreSQL server settings and pg_hba.conf", () => {
    it("runs the servers with WAL fit for a streaming replica, as postgres -c arguments", () => {
        const settings = Object.fromEntries(serverSettings({ maxSlotWalKeepSizeGb: 12, clusterName: "thanatos" }));
        assert.equal(settings.wal_level, "replica");
        assert.equal(settings.hot_standby, "on");
        assert.equal(settings.listen_addresses, "*");
        assert.equal(settings.max_slot_wal_keep_size, "12GB");
        assert.equal(settings.cluster_name, "thanatos");
        assert.ok(Number(settings.max_wal_senders) >= 2 && Number(settings.max_replication_slots) >= 1);
        assert.deepEqual(serverCommand([["wal_level", "replica"]]), ["postgres", "-c", "wal_level=replica"]);
    });

    it("allows TCP from the LAN CIDR and the machine's Docker networks only, always by SCRAM, replication from the LAN only", () => {
        const rules = renderHba("192.168.10.0/24")
            .split("\n")
            .filter((line) => line !== "" && !line.startsWith("#"))
            .map((line) => line.split(/\s+/));
        assert.deepEqual(rules, [
            ["local", "all", "all", "peer"],
            ["host", "replication", "replicator", "192.168.10.0/24", "scram-sha-256"],
            ["host", "all", "all", "192.168.10.0/24", "scram-sha-256"],
            ["host", "all", "all", "samenet", "scram-sha-256"],
        ]);
    });
});

describe("PostgreSQL backup container environment", () => {
    it("dumps every app database in custom format with the configured schedule and retention, password from a file", () => {
        const env = backupEnvironment({
            host: "postgres",
            port: 5432,
            databases: ["litellm", "openwebui"],
            user: "postgres",
            passwordFile: "/run/secrets/postgres/postgres",
            schedule: "0 3 * * *",
            keepDays: 3,
            keepWeeks: 2,
            keepMonths: 1,
        });
        assert.equal(env.POSTGRES_DB, "litellm,openwebui");
        assert.equal(env.POSTGRES_PASSWORD_FILE, "/run/secrets/postgres/postgres");
        assert.equal(env.POSTGRES_PASSWORD, undefined);
        assert.match(env.POSTGRES_EXTRA_OPTS, /--format=custom/);
        assert.deepEqual([env.SCHEDULE, env.BACKUP_KEEP_DAYS, env.BACKUP_KEEP_WEEKS, env.BACKUP_KEEP_MONTHS], ["0 3 * * *", "3", "2", "1"]);
    });
});

describe("PostgreSQL shell: rendered scripts and operator scripts", () => {
    it("pass shellcheck", async () => {
        const dir = tempDir();
        try {
            const rendered = {
                "init-with-replica.sh": renderInitScript({ lanCidr: "192.168.10.0/24", replicationSlot: "replica" }),
                "init-alone.sh": renderInitScript({ lanCidr: "127.0.0.0/8" }),
                "replica-entrypoint.sh": renderReplicaEntrypoint(),
                "primary-entrypoint.sh": renderPrimaryEntrypoint(),
            };
            const files = Object.entries(rendered).map(([name, content]) => {
                fs.writeFileSync(path.join(dir, name), content);
                return path.join(dir, name);
            });
            const result = await run("shellcheck", ["--shell=bash", "--severity=style", "--external-sources", ...files, ...scripts], { cwd: projectRoot });
            assert.equal(result.code, 0, result.stdout + result.stderr);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the init script holds no password: psql reads each from its file", () => {
        const script = renderInitScript({ lanCidr: "192.168.10.0/24", replicationSlot: "replica" });
        assert.doesNotMatch(script, /PASSWORD '/);
        for (const role of ["postgres", "replicator", "postgres_exporter", "litellm", "openwebui", "grafana"]) {
            assert.ok(script.includes(`\\set password \`cat :'secrets_dir'/${role}\``), role);
        }
    });

    for (const script of scripts) {
        it(`${path.basename(script)} prints its usage with --help, and refuses unknown arguments`, async () => {
            const help = await run("bash", [script, "--help"]);
            assert.equal(help.code, 0);
            assert.match(help.stdout, /^Usage: scripts\//);
            assert.match(help.stdout, /--yes/);
            const wrong = await run("bash", [script, "--frobnicate"]);
            assert.equal(wrong.code, 2);
            assert.match(wrong.stderr, /Usage:/);
        });
    }
});

describe("the replica's wrapper entrypoint", () => {
    const fakeBaseBackup = `#!/usr/bin/env bash
printf '%s\\n' "$@" > "$CALLS"
count=$(cat "$ATTEMPTS" 2>/dev/null || echo 0); echo $((count + 1)) > "$ATTEMPTS"
if [ "$count" -lt 2 ]; then echo "could not connect" >&2; exit 1; fi
pgdata=""; for arg; do case "$arg" in --pgdata=*) pgdata="\${arg#--pgdata=}" ;; esac; done
if [ -n "$(ls -A "$pgdata" 2>/dev/null)" ]; then echo "directory \"$pgdata\" exists but is not empty" >&2; exit 1; fi
mkdir -p "$pgdata" && echo 17 > "$pgdata/PG_VERSION" && touch "$pgdata/backup_label" "$pgdata/standby.signal"
`;

    /** Runs as the postgres user, as after the root branch's gosu (the test machine has no gosu). */
    /** `seed`: files already in the data directory (none: no directory), by path relative to it. */
    async function runWrapper(box: Sandbox, password: string, seed: Readonly<Record<string, string>> = {}) {
        const dir = box.root;
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "pg_basebackup"), fakeBaseBackup, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "entrypoint.sh"), renderReplicaEntrypoint(), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "password"), password);
        const pgdata = path.join(dir, "data");
        for (const [file, content] of Object.entries(seed)) {
            fs.mkdirSync(path.dirname(path.join(pgdata, file)), { recursive: true });
            fs.writeFileSync(path.join(pgdata, file), content);
        }
        box.chownAll();
        return run("bash", [path.join(dir, "entrypoint.sh"), "sh", "-c", 'echo "handed over: $0 $1"', "postgres", "-c"], {
            asPostgres: true,
            env: {
                PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`,
                PGDATA: pgdata,
                PGPASSFILE: path.join(dir, "pgpass"),
                PRIMARY_HOST: "192.0.2.11",
                PRIMARY_PORT: "5433",
                REPLICATION_USER: "replicator",
                REPLICATION_SLOT: "replica",
                REPLICATION_PASSWORD_FILE: path.join(dir, "password"),
                BOOTSTRAP_RETRY_SECONDS: "0",
                CALLS: path.join(dir, "calls"),
                ATTEMPTS: path.join(dir, "attempts"),
            },
        });
    }

    it("on an empty data directory, retries pg_basebackup -R -X stream -S <slot> until the primary answers, then hands over", async () => {
        const box = Sandbox.create();
        const dir = box.root;
        try {
            const result = await runWrapper(box, "s3cret");
            assert.equal(result.code, 0, result.stderr);
            assert.equal(fs.readFileSync(path.join(dir, "attempts"), "utf8").trim(), "3");
            assert.deepEqual(fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n"), [
                "--host=192.0.2.11",
                "--port=5433",
                "--username=replicator",
                "--no-password",
                `--pgdata=${path.join(dir, "data")}`,
                "--write-recovery-conf",
                "--wal-method=stream",
                "--slot=replica",
                "--checkpoint=fast",
            ]);
            assert.match(result.stdout, /handed over: postgres -c/);
            assert.doesNotMatch(result.stdout + result.stderr, /s3cret/);
        } finally {
            await box.cleanup();
        }
    });

    it("with a data directory present, starts the standby without a new base backup; the password sits in a 0600 passfile, escaped", async () => {
        const box = Sandbox.create();
        const dir = box.root;
        try {
            const result = await runWrapper(box, "pa:ss\\word", { PG_VERSION: "17\n" });
            assert.equal(result.code, 0, result.stderr);
            assert.equal(fs.existsSync(path.join(dir, "attempts")), false, "no base backup over existing data");
            assert.equal(fs.readFileSync(path.join(dir, "pgpass"), "utf8"), "*:*:*:replicator:pa\\:ss\\\\word\n");
            assert.equal(fs.statSync(path.join(dir, "pgpass")).mode & 0o777, 0o600);
        } finally {
            await box.cleanup();
        }
    });

    const interrupted: [string, Record<string, string>][] = [
        ["after the first files (backup_label, PG_VERSION, no standby.signal)", { backup_label: "START WAL LOCATION", PG_VERSION: "17\n", "base/1/1259": "x" }],
        ["before PG_VERSION arrived (only the WAL streamer's directory)", { "pg_wal/000000010000000000000001": "x" }],
    ];
    for (const [when, seed] of interrupted) {
        it(`removes a base backup cut short ${when} and clones again`, async () => {
            const box = Sandbox.create();
            const dir = box.root;
            try {
                fs.writeFileSync(path.join(dir, "attempts"), "2");
                const result = await runWrapper(box, "s3cret", seed);
                assert.equal(result.code, 0, result.stderr);
                assert.match(result.stdout, /removing the unfinished base backup/);
                assert.equal(fs.readFileSync(path.join(dir, "attempts"), "utf8").trim(), "3", "one new base backup");
                assert.deepEqual(fs.readdirSync(path.join(dir, "data")).sort(), ["PG_VERSION", "backup_label", "standby.signal"]);
            } finally {
                await box.cleanup();
            }
        });
    }

    it("keeps a finished clone that has not started yet (backup_label and standby.signal)", async () => {
        const box = Sandbox.create();
        const dir = box.root;
        try {
            const result = await runWrapper(box, "s3cret", { backup_label: "START WAL LOCATION", PG_VERSION: "17\n", "standby.signal": "" });
            assert.equal(result.code, 0, result.stderr);
            assert.equal(fs.existsSync(path.join(dir, "attempts")), false, "no base backup over a finished clone");
            assert.ok(fs.existsSync(path.join(dir, "data", "backup_label")));
        } finally {
            await box.cleanup();
        }
    });

    /**
     * The container starts the wrapper as root; it must hand itself over to postgres. Docker writes the upload
     * root-owned 0744 (kreuzwerker/terraform-provider-docker: `executable` gives 0o744), so postgres can read it
     * but not execute it. gosu is stood in for by runuser as root (it drops every capability, as gosu does); as a non-root user, by a pass-through, with
     * `id` reporting root until then and the file not executable by its owner either.
     */
    it("started as root, takes the data directory for postgres (0700) and hands over as postgres, though it may not execute the uploaded file", async () => {
        const box = Sandbox.create();
        const dir = box.root;
        const root = process.getuid?.() === 0;
        try {
            const bin = path.join(dir, "bin");
            const write = (file: string, content: string, mode: number) => {
                fs.writeFileSync(file, content);
                fs.chmodSync(file, mode);
            };
            fs.mkdirSync(bin);
            write(path.join(bin, "pg_basebackup"), `#!/usr/bin/env bash\nid -un > "$CALLS"\nfor arg; do case "$arg" in --pgdata=*) echo 17 > "\${arg#--pgdata=}/PG_VERSION" ;; esac; done\n`, 0o755);
            if (root) {
                write(path.join(bin, "gosu"), '#!/usr/bin/env bash\nuser="$1"; shift\nexec runuser -u "$user" -- "$@"\n', 0o755);
            } else {
                write(path.join(bin, "gosu"), '#!/usr/bin/env bash\nshift\nFAKE_GOSU_DONE=1 exec "$@"\n', 0o755);
                write(path.join(bin, "id"), '#!/usr/bin/env bash\nif [ "$*" = -u ] && [ -z "${FAKE_GOSU_DONE:-}" ]; then echo 0; else exec /usr/bin/id "$@"; fi\n', 0o755);
                write(path.join(bin, "chown"), "#!/bin/sh\nexit 0\n", 0o755);
            }
            fs.writeFileSync(path.join(dir, "password"), "s3cret");
            box.chownAll();
            const entrypoint = path.join(dir, "entrypoint.sh");
            write(entrypoint, renderReplicaEntrypoint(), root ? 0o744 : 0o644);
            // The 17 image's PGDATA before the first start: 1777.
            const pgdata = path.join(dir, "data");
            fs.mkdirSync(pgdata);
            fs.chmodSync(pgdata, 0o1777);

            const result = await run("bash", [entrypoint, "sh", "-c", 'echo "handed over as $(id -un): $0 $1"', "postgres", "-c"], {
                env: {
                    PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
                    PGDATA: pgdata,
                    PGPASSFILE: path.join(dir, "pgpass"),
                    PRIMARY_HOST: "192.0.2.11",
                    PRIMARY_PORT: "5432",
                    REPLICATION_USER: "replicator",
                    REPLICATION_SLOT: "replica",
                    REPLICATION_PASSWORD_FILE: path.join(dir, "password"),
                    CALLS: path.join(dir, "calls"),
                },
            });
            const user = root ? "postgres" : os.userInfo().username;
            assert.equal(result.code, 0, result.stderr);
            assert.match(result.stdout, new RegExp(`handed over as ${user}: postgres -c`));
            assert.equal(fs.readFileSync(path.join(dir, "calls"), "utf8").trim(), user, "pg_basebackup runs as postgres");
            const stat = fs.statSync(pgdata);
            assert.equal(stat.mode & 0o7777, 0o700);
            if (root) assert.equal(stat.uid, fs.statSync(path.join(dir, "pgpass")).uid, "the data directory belongs to postgres, who wrote the passfile");
        } finally {
            await box.cleanup();
        }
    });
});
