import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { initScriptName, renderInitScript } from "../../components/postgres/init";
import { appDatabases, exporterRole, replicationRole, superuser } from "../../components/postgres/roles";
import { renderHba, serverCommand, serverHealthcheck, serverSettings } from "../../components/postgres/server";
import { Sandbox, Server, initLikeTheImage, run } from "./cluster";

const settingsArgs = serverCommand(serverSettings({ maxSlotWalKeepSizeGb: 1, clusterName: "erebus" })).slice(1);
const lanCidr = "127.0.0.0/8";

describe("PostgreSQL primary initialised by the rendered init script (no replica placed)", () => {
    let box: Sandbox;
    let primary: Server;

    before(async () => {
        box = Sandbox.create();
        primary = await box.server("primary");
        await initLikeTheImage(box, primary, settingsArgs, { [initScriptName]: renderInitScript({ lanCidr }) });
        await primary.start("postgres", [...settingsArgs, ...primary.overrides()]);
    });

    after(async () => {
        await box?.cleanup();
    });

    it("each application user reaches its own database, and no other", async () => {
        for (const app of appDatabases) {
            const own = await primary.sql("CREATE TABLE mine (id int); SELECT current_database()", app, box.passwords[app], app);
            assert.equal(own.code, 0, own.stderr);
            assert.equal(own.stdout.trim(), app);
            for (const other of [...appDatabases.filter((db) => db !== app), "postgres", "template1"]) {
                const denied = await primary.sql("SELECT 1", app, box.passwords[app], other);
                assert.notEqual(denied.code, 0, `${app} must not reach ${other}`);
                assert.match(denied.stderr, /permission denied for database/);
            }
        }
    });

    it("passwords are checked (SCRAM), and the replication role reaches no database", async () => {
        const wrong = await primary.sql("SELECT 1", "litellm", "not-the-password", "litellm");
        assert.notEqual(wrong.code, 0);
        assert.match(wrong.stderr, /password authentication failed/);
        assert.equal((await primary.sql("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'litellm'", superuser, box.passwords[superuser])).stdout.trim(), "t");
        const replication = await primary.sql("SELECT 1", replicationRole, box.passwords[replicationRole]);
        assert.match(replication.stderr, /permission denied for database/);
    });

    it("the exporter role reads server statistics from the postgres database", async () => {
        const result = await primary.sql("SELECT pg_has_role('pg_monitor', 'member'), count(*) >= 0 FROM pg_stat_replication", exporterRole, box.passwords[exporterRole]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout.trim(), "t|t");
    });

    it("without a replica placed, no slot holds WAL back; pg_hba.conf is the rendered one", async () => {
        const slots = await primary.sql("SELECT count(*) FROM pg_replication_slots", superuser, box.passwords[superuser]);
        assert.equal(slots.stdout.trim(), "0");
        assert.equal(fs.readFileSync(path.join(primary.pgdata, "pg_hba.conf"), "utf8").trim(), renderHba(lanCidr).trim());
    });

    it("the container's healthcheck passes against the initialised server and leaves nothing in its log", async () => {
        const [kind, command, ...args] = serverHealthcheck("2m").test;
        assert.equal(kind, "CMD");
        const before = fs.readFileSync(primary.logFile, "utf8").length;
        const result = await run(command, args.map((arg) => (arg.startsWith("--port=") ? `--port=${primary.port}` : arg)));
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.equal(fs.readFileSync(primary.logFile, "utf8").slice(before), "");
    });

    it("no password reaches the server's log", () => {
        const log = fs.readFileSync(primary.logFile, "utf8");
        assert.match(log, /database system is ready to accept connections/);
        for (const [role, password] of Object.entries(box.passwords)) assert.ok(!log.includes(password), `the password of ${role} is in the log`);
    });
});

describe("the rendered init script, with a password file missing", () => {
    it("stops the initialisation, naming the missing file", async () => {
        const box = Sandbox.create();
        try {
            fs.rmSync(path.join(box.secretsDir, "grafana"));
            const server = await box.server("primary");
            await assert.rejects(
                initLikeTheImage(box, server, settingsArgs, { [initScriptName]: renderInitScript({ lanCidr }) }),
                /missing password file .*grafana/,
            );
        } finally {
            await box.cleanup();
        }
    });
});
