import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { renderPrimaryEntrypoint, renderReplicaEntrypoint } from "../../components/postgres/bootstrap";
import { initScriptName, renderInitScript } from "../../components/postgres/init";
import { exporterRole, replicationRole, replicationSlot, superuser } from "../../components/postgres/roles";
import { serverCommand, serverSettings } from "../../components/postgres/server";
import { Sandbox, Server, initLikeTheImage, waitFor } from "./cluster";

const settingsArgs = serverCommand(serverSettings({ maxSlotWalKeepSizeGb: 1, clusterName: "erebus" })).slice(1);
const replicaSettingsArgs = serverCommand(serverSettings({ maxSlotWalKeepSizeGb: 1, clusterName: "thanatos" })).slice(1);

/**
 * After the first deploy: the primary was initialised alone (no replica placed, so no slot), holds
 * data, and is then restarted by its wrapper entrypoint with a changed config, as `pulumi up`
 * replacing its container does. Nothing here runs SQL by hand on the servers' behalf.
 */
describe("PostgreSQL on day two: the primary's wrapper reconciles on every start", () => {
    let box: Sandbox;
    let primary: Server;
    let replica: Server;
    const passwords: Record<string, string> = {};
    const initFile = () => path.join(box.root, "initdb.d", initScriptName);
    const admin = async (server: Server, sql: string) => {
        const result = await server.sql(sql, superuser, passwords[superuser]);
        assert.equal(result.code, 0, result.stderr);
        return result.stdout.trim();
    };
    /** The container replaced with a new init script upload, started through the wrapper. */
    const restartPrimary = async (init: { lanCidr: string; replicationSlot?: string }) => {
        await primary.stop();
        box.writeFile(path.join("initdb.d", initScriptName), renderInitScript(init));
        const wrapper = box.writeFile("primary-entrypoint.sh", renderPrimaryEntrypoint(), 0o755);
        await primary.start(wrapper, ["postgres", ...settingsArgs, ...primary.overrides()], {
            POSTGRES_USER: superuser,
            POSTGRES_SECRETS_DIR: box.secretsDir,
            AI_PLATFORM_INIT_SCRIPT: initFile(),
            PGHOST: primary.socketDir,
            PGPORT: String(primary.port),
        });
    };
    /** `pulumi up` with a replaced RandomPassword: a new value in the role's secret file. */
    const rotate = (role: string) => {
        passwords[role] = randomBytes(16).toString("hex");
        box.writeFile(path.join("secrets", role), passwords[role], 0o600);
    };

    before(async () => {
        box = Sandbox.create();
        Object.assign(passwords, box.passwords);
        primary = await box.server("primary");
        // The first deploy: no database-replica machine, so no slot.
        await initLikeTheImage(box, primary, settingsArgs, { [initScriptName]: renderInitScript({ lanCidr: "127.0.0.0/8" }) });
        await restartPrimary({ lanCidr: "127.0.0.0/8" });
        await admin(primary, "CREATE TABLE events (id serial PRIMARY KEY, note text NOT NULL)");
        await admin(primary, "INSERT INTO events (note) SELECT 'first deploy' FROM generate_series(1, 100)");
        assert.equal(await admin(primary, "SELECT count(*) FROM pg_replication_slots"), "0", "the first deploy made no slot");
    });

    after(async () => {
        await box?.cleanup();
    });

    it("a replica added to the running lab: the restarted primary creates the slot, the rendered replica entrypoint clones it and streams", async () => {
        await restartPrimary({ lanCidr: "127.0.0.0/8", replicationSlot });
        assert.equal(await admin(primary, `SELECT slot_type FROM pg_replication_slots WHERE slot_name = '${replicationSlot}'`), "physical");
        assert.equal(await admin(primary, "SELECT count(*) FROM events"), "100", "the data survived the reconcile");

        replica = await box.server("replica");
        const entrypoint = box.writeFile("replica-entrypoint.sh", renderReplicaEntrypoint(), 0o755);
        await replica.start(entrypoint, ["postgres", ...replicaSettingsArgs, ...replica.overrides()], {
            PGPASSFILE: path.join(box.root, "replication.pgpass"),
            PRIMARY_HOST: "127.0.0.1",
            PRIMARY_PORT: String(primary.port),
            REPLICATION_USER: replicationRole,
            REPLICATION_SLOT: replicationSlot,
            REPLICATION_PASSWORD_FILE: path.join(box.secretsDir, replicationRole),
            BOOTSTRAP_ATTEMPTS: "3",
            BOOTSTRAP_RETRY_SECONDS: "1",
        });
        assert.equal(await admin(replica, "SELECT count(*) FROM events"), "100", "the base backup carries the first deploy's rows");
        await admin(primary, "INSERT INTO events (note) SELECT 'after the replica' FROM generate_series(1, 50)");
        await waitFor("the new rows on the replica", async () => (await admin(replica, "SELECT count(*) FROM events")) === "150");
        assert.equal(await admin(primary, "SELECT application_name || '|' || state FROM pg_stat_replication"), "thanatos|streaming");
        assert.equal(await admin(primary, `SELECT active FROM pg_replication_slots WHERE slot_name = '${replicationSlot}'`), "t");
    });

    it("a restart reconciles again without error and keeps the slot (idempotent)", async () => {
        await restartPrimary({ lanCidr: "127.0.0.0/8", replicationSlot });
        assert.equal(await admin(primary, "SELECT count(*) FROM pg_replication_slots"), "1");
        await waitFor("the replica to stream again", async () => (await admin(primary, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) === "1");
    });

    it("rotated passwords take effect on the next start: the new ones log in, the old ones no longer do", async () => {
        const old = { ...passwords };
        for (const role of [superuser, "litellm", exporterRole]) rotate(role);
        await restartPrimary({ lanCidr: "127.0.0.0/8", replicationSlot });
        for (const role of [superuser, "litellm", exporterRole]) {
            const database = role === "litellm" ? "litellm" : "postgres";
            const fresh = await primary.sql("SELECT current_user", role, passwords[role], database);
            assert.equal(fresh.code, 0, `${role} with its new password: ${fresh.stderr}`);
            assert.equal(fresh.stdout.trim(), role);
            const stale = await primary.sql("SELECT 1", role, old[role], database);
            assert.notEqual(stale.code, 0, `${role} with its old password`);
            assert.match(stale.stderr, /password authentication failed/);
        }
        assert.doesNotMatch(fs.readFileSync(primary.logFile, "utf8"), new RegExp(Object.values(passwords).join("|")), "no password in the server log");
    });

    it("a rotated replication password: the primary and the replica both restart with it and streaming resumes", async () => {
        await replica.stop();
        rotate(replicationRole);
        await restartPrimary({ lanCidr: "127.0.0.0/8", replicationSlot });
        const entrypoint = path.join(box.root, "replica-entrypoint.sh");
        await replica.start(entrypoint, ["postgres", ...replicaSettingsArgs, ...replica.overrides()], {
            PGPASSFILE: path.join(box.root, "replication.pgpass"),
            PRIMARY_HOST: "127.0.0.1",
            PRIMARY_PORT: String(primary.port),
            REPLICATION_USER: replicationRole,
            REPLICATION_SLOT: replicationSlot,
            REPLICATION_PASSWORD_FILE: path.join(box.secretsDir, replicationRole),
        });
        await admin(primary, "INSERT INTO events (note) VALUES ('after the rotation')");
        await waitFor("the replica to stream with the new password", async () => (await admin(replica, "SELECT count(*) FROM events")) === "151");
        assert.equal(await admin(primary, "SELECT state FROM pg_stat_replication"), "streaming");
    });

    it("a changed lanCidr reaches pg_hba.conf on the next start", async () => {
        await restartPrimary({ lanCidr: "10.99.0.0/16", replicationSlot });
        const hba = fs.readFileSync(path.join(primary.pgdata, "pg_hba.conf"), "utf8");
        assert.match(hba, /^host\s+all\s+all\s+10\.99\.0\.0\/16\s+scram-sha-256$/m);
        assert.doesNotMatch(hba, /127\.0\.0\.0\/8/);
        // What the running server parsed (loopback still logs in through the samenet row).
        assert.equal(await admin(primary, "SELECT count(*) FROM pg_hba_file_rules WHERE address = '10.99.0.0' AND error IS NULL"), "2");
        await restartPrimary({ lanCidr: "127.0.0.0/8", replicationSlot });
    });
});
