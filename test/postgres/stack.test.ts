import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { initScriptName } from "../../components/postgres/init";
import { ancestors, generatedSecretMarker, ofType, plainStrings, ProgramRun, readStackConfig, RegisteredResource, runProgram, StackConfig, types } from "../harness/program";

const homelab = readStackConfig("Pulumi.homelab.yaml");
const local = readStackConfig("Pulumi.local.yaml");

type Upload = { file: string; content: string; executable: boolean };
type Volume = { containerPath: string; volumeName: string };
type Port = { internal: number; external: number; ip: string };

function find(run: ProgramRun, type: string, name: string): RegisteredResource {
    const found = run.resources.find((r) => r.type === type && r.name === name);
    assert.ok(found, `no ${type} ${name}`);
    return found;
}
const container = (run: ProgramRun, name: string) => find(run, types.container, name);
const uploads = (c: RegisteredResource) => (c.inputs.uploads as Upload[] | undefined) ?? [];
const upload = (c: RegisteredResource, file: string) => uploads(c).find((u) => u.file === file);
const envOf = (c: RegisteredResource) => Object.fromEntries((c.inputs.envs as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
const volumesOf = (c: RegisteredResource) => c.inputs.volumes as Volume[];
const portsOf = (c: RegisteredResource) => (c.inputs.ports as Port[] | undefined) ?? [];
const imageOf = (run: ProgramRun, c: RegisteredResource) => ofType(run, types.image).find((i) => `sha256:${Buffer.from(String(i.inputs.name)).toString("hex").padEnd(64, "0").slice(0, 64)}` === c.inputs.image)?.inputs.name;

async function runOk(config: StackConfig): Promise<ProgramRun> {
    const run = await runProgram(config);
    assert.equal(run.error, undefined, run.error?.message);
    return run;
}

describe("the data tier of the homelab stack under mocks", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runOk(homelab);
    });

    it("runs the primary, its exporter and backups on erebus and the replica and its exporter on thanatos, each under its machine", () => {
        const expected: [string, string, string][] = [
            ["erebus-postgres", "erebus-database", "erebus"],
            ["erebus-postgres-exporter", "erebus-database", "erebus"],
            ["erebus-postgres-backup", "erebus-database", "erebus"],
            ["thanatos-postgres-replica", "thanatos-database-replica", "thanatos"],
            ["thanatos-postgres-replica-exporter", "thanatos-database-replica", "thanatos"],
        ];
        for (const [name, component, machine] of expected) {
            assert.deepEqual(ancestors(run, container(run, name)), [component, machine], name);
        }
        assert.equal(find(run, "ai-platform:postgres:PostgresPrimary", "erebus-database").parent, "erebus");
        assert.equal(find(run, "ai-platform:postgres:PostgresReplica", "thanatos-database-replica").parent, "thanatos");
        const elsewhere = ofType(run, types.container).filter((c) => /postgres/.test(c.name) && !/^(erebus|thanatos)-/.test(c.name));
        assert.deepEqual(elsewhere.map((c) => c.name), []);
    });

    it("pins the official image and the backup and exporter images from config/images.ts", () => {
        assert.equal(imageOf(run, container(run, "erebus-postgres")), "postgres:17.6-bookworm");
        assert.equal(imageOf(run, container(run, "thanatos-postgres-replica")), "postgres:17.6-bookworm");
        assert.equal(imageOf(run, container(run, "erebus-postgres-backup")), "prodrigestivill/postgres-backup-local:17");
        assert.match(String(imageOf(run, container(run, "thanatos-postgres-replica-exporter"))), /^quay\.io\/prometheuscommunity\/postgres-exporter:v/);
    });

    it("keeps data on local named volumes at the 17 image's PGDATA, and backups on the NAS export", () => {
        const primaryData = find(run, types.volume, "erebus-postgres-data");
        assert.equal(primaryData.inputs.driverOpts, undefined, "database data is never on NFS");
        assert.deepEqual(volumesOf(container(run, "erebus-postgres")).map((v) => [v.containerPath, v.volumeName]), [["/var/lib/postgresql/data", "ai-postgres-data"]]);
        assert.deepEqual(volumesOf(container(run, "thanatos-postgres-replica")).map((v) => [v.containerPath, v.volumeName]), [["/var/lib/postgresql/data", "ai-postgres-data"]]);
        assert.equal(envOf(container(run, "erebus-postgres")).PGDATA, "/var/lib/postgresql/data");

        const backups = find(run, types.volume, "erebus-backups");
        assert.equal((backups.inputs.driverOpts as Record<string, string>).device, ":/mnt/tank/ai/backups");
        assert.deepEqual(volumesOf(container(run, "erebus-postgres-backup")).filter((v) => v.volumeName !== undefined).map((v) => [v.containerPath, v.volumeName]), [["/backups", backups.inputs.name]]);
    });

    it("registers both exporters in the catalog, so that Prometheus scrapes replication metrics on both servers", () => {
        const services = run.outputs.services as Record<string, { machine: string; url: string }>;
        assert.deepEqual(services["postgres-exporter"], { ...services["postgres-exporter"], machine: "erebus", url: "http://192.168.10.11:9187" });
        assert.deepEqual(services["postgres-replica-exporter"], { ...services["postgres-replica-exporter"], machine: "thanatos", url: "http://192.168.10.13:9187" });
    });

    it("publishes the servers and exporters on their machine's LAN address only", () => {
        const published = (name: string) => portsOf(container(run, name)).map((p) => `${p.ip}:${p.external}->${p.internal}`);
        assert.deepEqual(published("erebus-postgres"), ["192.168.10.11:5432->5432"]);
        assert.deepEqual(published("erebus-postgres-exporter"), ["192.168.10.11:9187->9187"]);
        assert.deepEqual(published("erebus-postgres-backup"), []);
        assert.deepEqual(published("thanatos-postgres-replica"), ["192.168.10.13:5432->5432"]);
        assert.deepEqual(published("thanatos-postgres-replica-exporter"), ["192.168.10.13:9187->9187"]);
    });

    it("ships the init script (with the replica's slot and the lab's CIDR) and each password as its own secret file", () => {
        const primary = container(run, "erebus-postgres");
        const init = upload(primary, `/docker-entrypoint-initdb.d/${initScriptName}`);
        assert.ok(init, "no init script");
        assert.equal(init.executable, false, "the entrypoint sources a non-executable script");
        assert.match(init.content, /pg_create_physical_replication_slot\('replica'\)/);
        assert.match(init.content, /host +replication +replicator +192\.168\.10\.0\/24 +scram-sha-256/);
        const files = Object.fromEntries(uploads(primary).map((u) => [u.file, u.content]));
        for (const [role, secret] of Object.entries({ postgres: "superuser", replicator: "replication", postgres_exporter: "exporter", litellm: "litellm", openwebui: "openwebui", grafana: "grafana" })) {
            assert.match(files[`/run/secrets/postgres/${role}`] ?? "", new RegExp(`^${generatedSecretMarker}platform-postgres-${secret}-`), role);
        }
        assert.equal(envOf(primary).POSTGRES_PASSWORD_FILE, "/run/secrets/postgres/postgres");
    });

    it("starts the primary through its wrapper entrypoint, which sources the same init script on every start", () => {
        const primary = container(run, "erebus-postgres");
        const [entrypoint] = primary.inputs.entrypoints as string[];
        const wrapper = upload(primary, entrypoint);
        assert.ok(wrapper?.executable, "the wrapper is uploaded executable");
        assert.match(wrapper.content, /\. "\$AI_PLATFORM_INIT_SCRIPT"/);
        assert.equal(envOf(primary).AI_PLATFORM_INIT_SCRIPT, `/docker-entrypoint-initdb.d/${initScriptName}`);
        assert.ok(upload(primary, envOf(primary).AI_PLATFORM_INIT_SCRIPT), "the script it sources is uploaded");
        assert.deepEqual((primary.inputs.command as string[]).slice(0, 2), ["docker-entrypoint.sh", "postgres"]);
    });

    it("starts the replica through its wrapper entrypoint, pointed at the primary's LAN address and slot", () => {
        const replica = container(run, "thanatos-postgres-replica");
        const [entrypoint] = replica.inputs.entrypoints as string[];
        const wrapper = upload(replica, entrypoint);
        assert.ok(wrapper?.executable, "the wrapper is uploaded executable");
        assert.match(wrapper.content, /pg_basebackup .*--write-recovery-conf --wal-method=stream --slot="\$REPLICATION_SLOT"/s);
        assert.deepEqual((replica.inputs.command as string[]).slice(0, 2), ["docker-entrypoint.sh", "postgres"]);
        assert.ok((replica.inputs.command as string[]).includes("cluster_name=thanatos"), "the replica names its machine in pg_stat_replication");
        const env = envOf(replica);
        assert.deepEqual([env.PRIMARY_HOST, env.PRIMARY_PORT, env.REPLICATION_SLOT, env.REPLICATION_USER], ["192.168.10.11", "5432", "replica", "replicator"]);
        assert.match(upload(replica, env.REPLICATION_PASSWORD_FILE)?.content ?? "", /platform-postgres-replication-/);
    });

    it("configures backups of every app database with the retention from config", () => {
        const env = envOf(container(run, "erebus-postgres-backup"));
        assert.equal(env.POSTGRES_DB, "litellm,openwebui,grafana");
        assert.deepEqual([env.SCHEDULE, env.BACKUP_KEEP_DAYS, env.BACKUP_KEEP_WEEKS, env.BACKUP_KEEP_MONTHS], ["@daily", "7", "4", "6"]);
        assert.equal(env.POSTGRES_HOST, "postgres");
    });

    it("backups fail loudly: autoheal leaves the backup container alone (saying why), its hook writes metrics that erebus' node-exporter reads", () => {
        const backup = container(run, "erebus-postgres-backup");
        const labels = Object.fromEntries((backup.inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
        assert.equal(labels.autoheal, "false", "a restart would reset go-cron's 503 and hide the failure");
        assert.match(labels["ai-platform.no-autoheal"] ?? "", /failed backup/);
        const hook = upload(backup, "/hooks/50-ai-platform-metrics");
        assert.ok(hook?.executable, "run-parts runs executable hooks only");
        assert.match(hook.content, /ai_platform_backup_max_age_seconds %s\\n' 90000/, "a daily schedule: overdue after 25 hours");
        assert.ok(volumesOf(backup).some((v) => (v as Volume & { hostPath?: string }).hostPath === "/var/lib/ai-platform/textfile"));
        const flags = (name: string) => (container(run, name).inputs.command as string[]).filter((f) => f.startsWith("--collector.textfile"));
        assert.deepEqual(flags("erebus-node-exporter"), ["--collector.textfile.directory=/host/var/lib/ai-platform/textfile"]);
        assert.deepEqual(flags("thanatos-node-exporter"), [], "only the database machine has backup metrics");
        // Every other container with a healthcheck keeps autoheal.
        const others = ofType(run, types.container).filter((c) => c.name !== "erebus-postgres-backup" && c.inputs.healthcheck !== undefined);
        for (const c of others) assert.ok((c.inputs.labels as { label: string; value: string }[]).some((l) => l.label === "autoheal" && l.value === "true"), c.name);
    });

    it("gives every container a healthcheck its image can run", () => {
        const test = (name: string) => ((container(run, name).inputs.healthcheck as { tests: string[] }).tests ?? []).join(" ");
        assert.match(test("erebus-postgres"), /^CMD pg_isready /);
        assert.match(test("thanatos-postgres-replica"), /^CMD pg_isready /);
        for (const name of ["erebus-postgres", "thanatos-postgres-replica"]) {
            assert.equal(container(run, name).inputs.stopTimeout, 120, `${name} gets time to shut down cleanly`);
        }
        assert.match(test("erebus-postgres-exporter"), /^CMD wget .*:9187\//);
        assert.match(test("erebus-postgres-backup"), /^CMD curl .*localhost:8080\//);
    });

    it("puts no password in plain text: env, commands and non-secret uploads carry none", () => {
        for (const c of ofType(run, types.container).filter((r) => /postgres/.test(r.name))) {
            for (const value of plainStrings(c.rawInputs)) assert.ok(!value.includes(generatedSecretMarker), `${c.name} carries a password in plain text`);
        }
    });
});

describe("the data tier in other labs", () => {
    it("the local stack runs a primary with no replica and no slot holding WAL", async () => {
        const run = await runOk(local);
        const init = upload(container(run, "local-postgres"), `/docker-entrypoint-initdb.d/${initScriptName}`);
        assert.doesNotMatch(init?.content ?? "", /replication_slot/);
        assert.equal(ofType(run, types.container).filter((c) => c.name.includes("replica")).length, 0);
    });

    it("a PostgreSQL 18 image mounts the volume on /var/lib/postgresql and sets PGDATA under it", async () => {
        const run = await runOk({ ...homelab, images: { postgres: "postgres:18.1-trixie", postgresBackup: "prodrigestivill/postgres-backup-local:18" } });
        for (const name of ["erebus-postgres", "thanatos-postgres-replica"]) {
            const c = container(run, name);
            assert.equal(volumesOf(c)[0].containerPath, "/var/lib/postgresql");
            assert.equal(envOf(c).PGDATA, "/var/lib/postgresql/18/docker");
        }
    });

    it("refuses a backup image older than the server, naming the config key", async () => {
        const run = await runProgram({ ...homelab, images: { postgres: "postgres:18.1-trixie" } });
        assert.match(String(run.error?.message), /ai-platform:images\.postgresBackup: pg_dump 17 cannot dump a PostgreSQL 18 server/);
    });
});
