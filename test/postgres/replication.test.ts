import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { renderReplicaEntrypoint } from "../../components/postgres/bootstrap";
import { initScriptName, renderInitScript } from "../../components/postgres/init";
import { exporterRole, replicationRole, replicationSlot, superuser } from "../../components/postgres/roles";
import { serverCommand, serverSettings } from "../../components/postgres/server";
import { projectRoot } from "../harness/program";
import { fakeDocker } from "./docker-double";
import { Sandbox, Server, initLikeTheImage, run, waitFor } from "./cluster";

const settingsArgs = serverCommand(serverSettings({ maxSlotWalKeepSizeGb: 1, clusterName: "erebus" })).slice(1);
const replicaSettingsArgs = serverCommand(serverSettings({ maxSlotWalKeepSizeGb: 1, clusterName: "thanatos" })).slice(1);

describe("PostgreSQL streaming replication, from the rendered init script and replica entrypoint", () => {
    let box: Sandbox;
    let primary: Server;
    let replica: Server;
    let startReplica: () => Promise<void>;
    const admin = (server: Server, sql: string) => server.sql(sql, superuser, box.passwords[superuser]);
    const value = async (server: Server, sql: string) => {
        const result = await admin(server, sql);
        assert.equal(result.code, 0, result.stderr);
        return result.stdout.trim();
    };
    const replicaCount = () => value(replica, "SELECT count(*) FROM events");

    before(async () => {
        box = Sandbox.create();
        primary = await box.server("primary");
        await initLikeTheImage(box, primary, settingsArgs, { [initScriptName]: renderInitScript({ lanCidr: "127.0.0.0/8", replicationSlot }) });
        await primary.start("postgres", [...settingsArgs, ...primary.overrides()]);
        await value(primary, "CREATE TABLE events (id serial PRIMARY KEY, note text NOT NULL)");
        await value(primary, "INSERT INTO events (note) SELECT 'before the replica' FROM generate_series(1, 100)");

        replica = await box.server("replica");
        const entrypoint = box.writeFile("replica-entrypoint.sh", renderReplicaEntrypoint(), 0o755);
        const env = {
            PGPASSFILE: path.join(box.root, "replication.pgpass"),
            PRIMARY_HOST: "127.0.0.1",
            PRIMARY_PORT: String(primary.port),
            REPLICATION_USER: replicationRole,
            REPLICATION_SLOT: replicationSlot,
            REPLICATION_PASSWORD_FILE: path.join(box.secretsDir, replicationRole),
            BOOTSTRAP_RETRY_SECONDS: "1",
        };
        // The container runs `entrypoint docker-entrypoint.sh postgres ...`; with a data directory present that execs postgres.
        startReplica = () => replica.start(entrypoint, ["postgres", ...replicaSettingsArgs, ...replica.overrides()], env);
        await startReplica();
    });

    after(async () => {
        await box?.cleanup();
    });

    it("replication: the base backup carries earlier rows, new rows stream over, and pg_stat_replication reports the replica streaming", async () => {
        assert.equal(await value(replica, "SELECT pg_is_in_recovery()"), "t");
        assert.equal(await replicaCount(), "100");

        await value(primary, "INSERT INTO events (note) SELECT 'streamed' FROM generate_series(1, 50)");
        await waitFor("the new rows on the replica", async () => (await replicaCount()) === "150");

        const [usename, state, applicationName] = (await value(primary, "SELECT usename, state, application_name FROM pg_stat_replication")).split("|");
        assert.equal(usename, replicationRole);
        assert.equal(state, "streaming");
        assert.equal(applicationName, "thanatos", "the replica names its machine (the lag alert's application_name label)");
        assert.equal(await value(primary, `SELECT active FROM pg_replication_slots WHERE slot_name = '${replicationSlot}'`), "t");

        // What -R wrote: the primary and the slot, and no password (libpq reads it from the passfile).
        const autoConf = fs.readFileSync(path.join(replica.pgdata, "postgresql.auto.conf"), "utf8");
        assert.match(autoConf, new RegExp(`primary_conninfo = '.*port=${primary.port}`));
        assert.match(autoConf, /primary_slot_name = 'replica'/);
        assert.ok(!autoConf.includes(box.passwords[replicationRole]), "the replication password is not in postgresql.auto.conf");
        assert.ok(fs.existsSync(path.join(replica.pgdata, "standby.signal")));
    });

    /**
     * The queries behind the metrics the alert rules use, as postgres-exporter v0.18.1 runs them (legacy
     * pg_stat_replication map; replication_slot and replication collectors), read as the exporter role:
     * without pg_monitor, replay_lsn is NULL and pg_stat_replication_pg_wal_lsn_diff would never appear.
     */
    it("monitoring: the exporter role reads the replication lag in bytes, the slot's activity, and which server is a replica", async () => {
        const asExporter = async (server: Server, sql: string) => {
            const result = await server.sql(sql, exporterRole, box.passwords[exporterRole]);
            assert.equal(result.code, 0, result.stderr);
            return result.stdout.trim();
        };
        const lagBytes = `SELECT application_name, state, (case pg_is_in_recovery() when 't' then pg_wal_lsn_diff(pg_last_wal_receive_lsn(), replay_lsn)::float else pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float end) AS pg_wal_lsn_diff FROM pg_stat_replication`;
        const [, state, diff] = (await asExporter(primary, lagBytes)).split("|");
        assert.equal(state, "streaming");
        assert.match(diff, /^\d+$/, "pg_stat_replication_pg_wal_lsn_diff has a value");

        const slots = "SELECT slot_name, slot_type, active, safe_wal_size IS NOT NULL, wal_status FROM pg_replication_slots";
        assert.equal(await asExporter(primary, slots), `${replicationSlot}|physical|t|t|reserved`);

        const isReplica = "SELECT CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END AS is_replica";
        assert.equal(await asExporter(primary, isReplica), "0");
        assert.equal(await asExporter(replica, isReplica), "1");
    });

    it("replication: the replica is a hot standby that refuses writes", async () => {
        const insert = await admin(replica, "INSERT INTO events (note) VALUES ('on the replica')");
        assert.notEqual(insert.code, 0);
        assert.match(insert.stderr, /read-only transaction/);
        assert.equal(await value(replica, "SELECT count(*) FROM events WHERE note = 'on the replica'"), "0");
    });

    it("replication: a stopped replica catches up after a restart, the slot having kept the WAL it missed", async () => {
        await replica.stop();
        await value(primary, "INSERT INTO events (note) SELECT 'while the replica was down' FROM generate_series(1, 1000)");
        // Without the slot, these segments could be recycled before the replica asks for them.
        for (let i = 0; i < 3; i++) await value(primary, "SELECT pg_switch_wal()");
        await value(primary, "CHECKPOINT");
        const [active, held] = (await value(primary, `SELECT active, restart_lsn < pg_current_wal_lsn() FROM pg_replication_slots WHERE slot_name = '${replicationSlot}'`)).split("|");
        assert.equal(active, "f");
        assert.equal(held, "t", "the inactive slot holds the WAL position the replica stopped at");

        await startReplica();
        await waitFor("the replica to catch up", async () => (await replicaCount()) === "1150");
        assert.equal(await value(primary, "SELECT state FROM pg_stat_replication"), "streaming");
    });

    it("promotion: promote-replica.sh asks for confirmation, then pg_promote() makes the replica writable", async () => {
        const docker = fakeDocker(box, "thanatos-postgres-replica");
        const script = path.join(projectRoot, "scripts", "promote-replica.sh");
        const env = { ...docker.env, PGHOST: replica.socketDir, PGPORT: String(replica.port) };

        const declined = await run("bash", [script, "-H", "ssh://deploy@192.0.2.13"], { asPostgres: true, env, input: "no\n" });
        assert.notEqual(declined.code, 0);
        assert.match(declined.stderr, /aborted/);
        assert.equal(await value(replica, "SELECT pg_is_in_recovery()"), "t", "a declined prompt leaves the standby as it was");

        const promoted = await run("bash", [script, "-H", "ssh://deploy@192.0.2.13", "--yes"], { asPostgres: true, env });
        assert.equal(promoted.code, 0, promoted.stderr);
        assert.match(promoted.stdout, /is now a read-write primary/);
        assert.ok(docker.calls().every((call) => call.startsWith("-H ssh://deploy@192.0.2.13 ")), "every docker call goes to the given host");

        assert.equal(await value(replica, "SELECT pg_is_in_recovery()"), "f");
        assert.equal(await value(replica, `SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${replicationSlot}'`), "1", "a slot awaits the next replica");
        await value(replica, "INSERT INTO events (note) VALUES ('after promotion')");
        assert.equal(await value(replica, "SELECT count(*) FROM events"), "1151");

        const again = await run("bash", [script, "--yes"], { asPostgres: true, env });
        assert.notEqual(again.code, 0);
        assert.match(again.stderr, /not a standby/);
    });
});
