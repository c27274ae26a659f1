import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { renderPrimaryEntrypoint, renderReplicaEntrypoint } from "../../components/postgres/bootstrap";
import { initScriptName, renderInitScript } from "../../components/postgres/init";
import { exporterRole, replicationRole, replicationSlot, superuser } from "../../components/postgres/roles";
import { serverCommand, serverSettings } from "../../components/postgres/server";
import { Sandbox, Server, initLikeTheImage, pgBin, run, runOk, waitFor } from "./cluster";

const settingsArgs = serverCommand(serverSettings({ maxSlotWalKeepSizeGb: 1, clusterName: "erebus" })).slice(1);
const replicaSettingsArgs = serverCommand(serverSettings({ maxSlotWalKeepSizeGb: 1, clusterName: "thanatos" })).slice(1);

/** The replica container started through its rendered entrypoint, which clones the primary when its data directory is empty. */
async function startReplica(box: Sandbox, replica: Server, primary: Server, retrySeconds: number): Promise<void> {
    const entrypoint = box.writeFile("replica-entrypoint.sh", renderReplicaEntrypoint(), 0o755);
    await replica.start(entrypoint, ["postgres", ...replicaSettingsArgs, ...replica.overrides()], {
        PGPASSFILE: path.join(box.root, "replication.pgpass"),
        PRIMARY_HOST: "127.0.0.1",
        PRIMARY_PORT: String(primary.port),
        REPLICATION_USER: replicationRole,
        REPLICATION_SLOT: replicationSlot,
        REPLICATION_PASSWORD_FILE: path.join(box.secretsDir, replicationRole),
        BOOTSTRAP_ATTEMPTS: "3",
        BOOTSTRAP_RETRY_SECONDS: String(retrySeconds),
    });
}

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
        await startReplica(box, replica, primary, 1);
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

/**
 * `npm run up:machine -- thanatos` alone: the replica is deployed while the primary, deployed
 * before any replica, still runs without a slot (it creates one only on its next start).
 */
describe("a replica deployed before the primary restarts", () => {
    let box: Sandbox;
    let primary: Server;
    let replica: Server;
    const admin = async (server: Server, sql: string) => {
        const result = await server.sql(sql, superuser, box.passwords[superuser]);
        assert.equal(result.code, 0, result.stderr);
        return result.stdout.trim();
    };

    before(async () => {
        box = Sandbox.create();
        primary = await box.server("primary");
        await initLikeTheImage(box, primary, settingsArgs, { [initScriptName]: renderInitScript({ lanCidr: "127.0.0.0/8" }) });
        await primary.start("postgres", [...settingsArgs, ...primary.overrides()]);
        await admin(primary, "CREATE TABLE events (id serial PRIMARY KEY, note text NOT NULL)");
        await admin(primary, "INSERT INTO events (note) SELECT 'first deploy' FROM generate_series(1, 10)");
    });

    after(async () => {
        await box?.cleanup();
    });

    it("creates the missing slot with its base backup (--create-slot) and streams through it", async () => {
        assert.equal(await admin(primary, "SELECT count(*) FROM pg_replication_slots"), "0");
        replica = await box.server("replica");
        await startReplica(box, replica, primary, 0);
        assert.match(fs.readFileSync(replica.logFile, "utf8"), /the primary has no slot replica yet: creating it/);
        await admin(primary, "INSERT INTO events (note) VALUES ('streamed')");
        await waitFor("the row on the replica", async () => (await admin(replica, "SELECT count(*) FROM events")) === "11");
        assert.equal(await admin(primary, `SELECT slot_type || '|' || active FROM pg_replication_slots WHERE slot_name = '${replicationSlot}'`), "physical|true");
        assert.equal(await admin(primary, "SELECT state FROM pg_stat_replication"), "streaming");
    });
});

/**
 * The container starts the wrapper as root (PID 1): it reconciles as postgres through gosu, here a
 * stand-in that switches user with setpriv. `docker stop` while the temporary server runs must stop
 * that server cleanly and not start the real one.
 */
describe("the primary's wrapper started as root, as in the container", { skip: process.getuid?.() !== 0 ? "needs root (CI runs as root)" : false }, () => {
    let box: Sandbox;
    let primary: Server;
    let bin: string;
    const env = (initScript: string, started: string) => ({
        PATH: `${bin}:${pgBin}:/usr/sbin:/usr/bin:/sbin:/bin`,
        PGDATA: primary.pgdata,
        POSTGRES_USER: superuser,
        POSTGRES_SECRETS_DIR: box.secretsDir,
        AI_PLATFORM_INIT_SCRIPT: initScript,
        PGHOST: primary.socketDir,
        PGPORT: String(primary.port),
        STARTED: started,
    });

    before(async () => {
        box = Sandbox.create();
        primary = await box.server("primary");
        await initLikeTheImage(box, primary, settingsArgs, { [initScriptName]: renderInitScript({ lanCidr: "127.0.0.0/8" }) });
        bin = path.join(box.root, "bin");
        fs.mkdirSync(bin);
        // Like gosu, it execs the command (no process of its own in between).
        fs.writeFileSync(path.join(bin, "gosu"), '#!/bin/sh\nuser="$1"; shift\nexec setpriv --reuid="$user" --regid="$user" --init-groups "$@"\n', { mode: 0o755 });
        box.writeFile("primary-entrypoint.sh", renderPrimaryEntrypoint(), 0o755);
        // Stands in for the image's docker-entrypoint.sh: records that the real server would start now.
        box.writeFile("entrypoint-stand-in.sh", '#!/bin/sh\ntouch "$STARTED"\n', 0o755);
    });

    after(async () => {
        await box?.cleanup();
    });

    const clusterState = async () => (await runOk("pg_controldata", [primary.pgdata])).match(/^Database cluster state:\s+(.*)$/m)?.[1];

    it("reconciles as postgres, stops the temporary server, then hands over", async () => {
        const started = path.join(box.root, "started-1");
        const wrapper = spawn("bash", [path.join(box.root, "primary-entrypoint.sh"), path.join(box.root, "entrypoint-stand-in.sh")], {
            env: env(path.join(box.root, "initdb.d", initScriptName), started),
            stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        wrapper.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
        wrapper.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        const code = await new Promise<number | null>((resolve) => wrapper.on("exit", resolve));
        assert.equal(code, 0, output);
        assert.match(output, /primary: reconciled/);
        assert.ok(fs.existsSync(started), "the image's entrypoint runs after the reconcile");
        assert.equal(await clusterState(), "shut down", "the temporary server was stopped cleanly");
    });

    it("docker stop during the reconcile: the temporary server shuts down cleanly and the real one never starts", async () => {
        const started = path.join(box.root, "started-2");
        const reconciling = path.join(box.root, "reconciling");
        // A slow reconcile: it signals that the temporary server is up, then takes its time.
        const slow = box.writeFile("slow-init.sh", `touch ${reconciling}\nsleep 2\n`);
        const wrapper = spawn("bash", [path.join(box.root, "primary-entrypoint.sh"), path.join(box.root, "entrypoint-stand-in.sh")], { env: env(slow, started), stdio: "ignore" });
        const exited = new Promise<number | null>((resolve) => wrapper.on("exit", resolve));
        await waitFor("the reconcile to start", async () => fs.existsSync(reconciling));
        wrapper.kill("SIGTERM");
        assert.equal(await exited, 143);
        assert.ok(!fs.existsSync(started), "the real server does not start after docker stop");
        assert.equal((await run("pg_ctl", ["-D", primary.pgdata, "status"], { asPostgres: true })).code, 3, "no server left running");
        assert.equal(await clusterState(), "shut down");
    });
});
