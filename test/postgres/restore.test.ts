import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { backupEnvironment } from "../../components/postgres/backup";
import { initScriptName, renderInitScript } from "../../components/postgres/init";
import { appDatabases, superuser } from "../../components/postgres/roles";
import { serverCommand, serverSettings } from "../../components/postgres/server";
import { projectRoot } from "../harness/program";
import { Sandbox, Server, initLikeTheImage, run, runOk } from "./cluster";
import { fakeDocker } from "./docker-double";

const settingsArgs = serverCommand(serverSettings({ maxSlotWalKeepSizeGb: 1, clusterName: "erebus" })).slice(1);
const initFiles = { [initScriptName]: renderInitScript({ lanCidr: "127.0.0.0/8" }) };
const rows: Record<string, number> = { litellm: 1200, openwebui: 345, grafana: 67 };

/**
 * The dump and rotation steps of the backup image's backup.sh (prodrigestivill/docker-postgres-backup-local,
 * file branch), run with the rendered environment: the dump in last/, hard links in daily/, weekly/ and
 * monthly/, and a `<db>-latest<suffix>` symlink in each.
 */
const backupStep = `set -Eeo pipefail
export PGUSER="$POSTGRES_USER" PGHOST="$POSTGRES_HOST" PGPORT="$POSTGRES_PORT"
PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")"; export PGPASSWORD
mkdir -p "$BACKUP_DIR/last/" "$BACKUP_DIR/daily/" "$BACKUP_DIR/weekly/" "$BACKUP_DIR/monthly/"
for DB in $(echo "$POSTGRES_DB" | tr , " "); do
	LAST_FILENAME="$DB-$(date +%Y%m%d-%H%M%S)$BACKUP_SUFFIX"
	DAILY_FILENAME="$DB-$(date +%Y%m%d)$BACKUP_SUFFIX"
	WEEKLY_FILENAME="$DB-$(date +%G%V)$BACKUP_SUFFIX"
	MONTHLY_FILENAME="$DB-$(date +%Y%m)$BACKUP_SUFFIX"
	pg_dump -d "$DB" -f "$BACKUP_DIR/last/$LAST_FILENAME" $POSTGRES_EXTRA_OPTS
	ln -vf "$BACKUP_DIR/last/$LAST_FILENAME" "$BACKUP_DIR/daily/$DAILY_FILENAME"
	ln -vf "$BACKUP_DIR/last/$LAST_FILENAME" "$BACKUP_DIR/weekly/$WEEKLY_FILENAME"
	ln -vf "$BACKUP_DIR/last/$LAST_FILENAME" "$BACKUP_DIR/monthly/$MONTHLY_FILENAME"
	ln -svf "$LAST_FILENAME" "$BACKUP_DIR/last/$DB-latest$BACKUP_SUFFIX"
	ln -svf "$DAILY_FILENAME" "$BACKUP_DIR/daily/$DB-latest$BACKUP_SUFFIX"
	ln -svf "$WEEKLY_FILENAME" "$BACKUP_DIR/weekly/$DB-latest$BACKUP_SUFFIX"
	ln -svf "$MONTHLY_FILENAME" "$BACKUP_DIR/monthly/$DB-latest$BACKUP_SUFFIX"
done`;

describe("PostgreSQL backup and restore: a backup taken like the backup container's, restored by restore-db.sh", () => {
    let box: Sandbox;
    let primary: Server;
    let fresh: Server;
    let containerEnv: Record<string, string>;
    const counts = async (server: Server) =>
        Object.fromEntries(
            await Promise.all(
                appDatabases.map(async (app) => {
                    const result = await server.sql("SELECT count(*) FROM items", app, box.passwords[app], app);
                    return [app, result.code === 0 ? Number(result.stdout.trim()) : result.stderr.trim()] as const;
                }),
            ),
        );
    const restore = (args: string[], input?: string) =>
        run("bash", [path.join(projectRoot, "scripts", "restore-db.sh"), "-H", "ssh://deploy@192.0.2.11", ...args], {
            asPostgres: true,
            env: { ...fakeDocker(box, "erebus-postgres-backup").env, ...containerEnv },
            input,
        });

    before(async () => {
        box = Sandbox.create();
        primary = await box.server("primary");
        await initLikeTheImage(box, primary, settingsArgs, initFiles);
        await primary.start("postgres", [...settingsArgs, ...primary.overrides()]);
        for (const app of appDatabases) {
            const sql = `CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL UNIQUE); INSERT INTO items (label) SELECT 'item ' || i FROM generate_series(1, ${rows[app]}) AS i`;
            const created = await primary.sql(sql, app, box.passwords[app], app);
            assert.equal(created.code, 0, created.stderr);
        }

        const rendered = backupEnvironment({
            host: "postgres",
            port: 5432,
            databases: appDatabases,
            user: superuser,
            passwordFile: "/run/secrets/postgres/postgres",
            schedule: "@daily",
            keepDays: 7,
            keepWeeks: 4,
            keepMonths: 6,
        });
        // The container's environment, pointed at the sandbox: its server, password file and backups directory.
        const sandboxed = { POSTGRES_HOST: "127.0.0.1", POSTGRES_PASSWORD_FILE: path.join(box.secretsDir, superuser), BACKUP_DIR: path.join(box.root, "backups") };
        await runOk("bash", ["-c", backupStep], { asPostgres: true, env: { ...rendered, ...sandboxed, POSTGRES_PORT: String(primary.port) } });

        fresh = await box.server("fresh");
        await initLikeTheImage(box, fresh, settingsArgs, initFiles);
        await fresh.start("postgres", [...settingsArgs, ...fresh.overrides()]);
        containerEnv = { ...rendered, ...sandboxed, POSTGRES_PORT: String(fresh.port) };
    });

    after(async () => {
        await box?.cleanup();
    });

    it("the backup container's environment produces one custom-format dump per database", () => {
        const last = fs.readdirSync(path.join(box.root, "backups", "last")).sort();
        for (const app of appDatabases) {
            assert.ok(last.includes(`${app}-latest.dump`), `no latest backup of ${app}`);
            assert.equal(fs.readFileSync(path.join(box.root, "backups", "last", `${app}-latest.dump`)).subarray(0, 5).toString(), "PGDMP");
        }
    });

    it("restore-db.sh lists the backups and refuses to restore without confirmation", async () => {
        const listed = await restore(["--list", "litellm"]);
        assert.equal(listed.code, 0, listed.stderr);
        for (const dir of ["last", "daily", "weekly", "monthly"]) assert.match(listed.stdout, new RegExp(`${dir}/litellm-latest\\.dump`), dir);
        assert.match(listed.stdout, /daily\/litellm-\d{8}\.dump/);
        assert.doesNotMatch(listed.stdout, /openwebui/, "only the asked database's backups");

        const declined = await restore(["litellm"], "grafana\n");
        assert.notEqual(declined.code, 0);
        assert.match(declined.stderr, /aborted/);
        assert.match(String((await counts(fresh)).litellm), /relation "items" does not exist/);
    });

    it("restore: every database restores into a fresh server with identical row counts, owned by its app", async () => {
        const confirmed = await restore(["litellm"], "litellm\n");
        assert.equal(confirmed.code, 0, confirmed.stderr);
        for (const app of ["openwebui", "grafana"]) {
            const result = await restore(["--yes", app]);
            assert.equal(result.code, 0, result.stderr);
        }
        assert.deepEqual(await counts(fresh), rows);
        assert.deepEqual(await counts(fresh), await counts(primary));
        for (const app of appDatabases) {
            const owner = await fresh.sql("SELECT tableowner FROM pg_tables WHERE tablename = 'items'", superuser, box.passwords[superuser], app);
            assert.equal(owner.stdout.trim(), app);
        }
    });

    it("restore: restoring over a database that already has the data replaces it, rows are not doubled", async () => {
        const again = await restore(["--yes", "openwebui", "last/openwebui-latest.dump"]);
        assert.equal(again.code, 0, again.stderr);
        assert.equal((await counts(fresh)).openwebui, rows.openwebui);
    });

    it("restore: a daily backup, named as the backup image names it, restores by its path under the export", async () => {
        const daily = fs.readdirSync(path.join(box.root, "backups", "daily")).find((name) => /^grafana-\d{8}\.dump$/.test(name));
        assert.ok(daily, "no daily/grafana-<yyyymmdd>.dump");
        const result = await restore(["--yes", "grafana", `daily/${daily}`]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal((await counts(fresh)).grafana, rows.grafana);
    });

    it("restore-db.sh rejects an unknown database and a path outside the backups", async () => {
        assert.equal((await restore(["--yes", "postgres"])).code, 2);
        assert.equal((await restore(["--yes", "litellm", "../secrets/postgres"])).code, 2);
    });
});
