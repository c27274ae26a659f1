import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { Machine } from "../../machines/machine";
import { ContainerSpec, platformLabel } from "../container/spec";
import { scheduleIntervalSeconds } from "../../config/schedule";
import { PlatformSecrets } from "../secrets/secrets";
import { backupDir, backupEnvironment, backupHealthPort, backupHookPath, backupMaxAgeSeconds, renderBackupHook, textfileContainerDir, textfileHostDir } from "./backup";
import { exporterSpec } from "./exporter";
import { primaryEntrypointPath, renderPrimaryEntrypoint } from "./bootstrap";
import { initScriptPath, renderInitScript } from "./init";
import { DataLayout } from "./layout";
import { appDatabases, passwordFile, passwordRoles, replicationSlot, secretsDir, superuser } from "./roles";
import { passwordFiles, rolePassword } from "./secrets";
import { serverCommand, serverHealthcheck, serverSettings, stopTimeoutSeconds } from "./server";

/** The alias both PostgreSQL servers answer to on their machine's networks. */
export const primaryAlias = "postgres";

export interface PostgresPrimaryArgs {
    /** The machine with the `database` role. */
    readonly machine: Machine;
    /** The validated platform config (images, lanCidr, postgres settings). */
    readonly config: PlatformConfig;
    /** Where the pinned major keeps its data. */
    readonly layout: DataLayout;
    /** The generated passwords of the superuser, the replication and exporter roles and the app owners. */
    readonly secrets: PlatformSecrets;
    /** Whether a replica is placed: the init script then creates its replication slot. */
    readonly withReplica: boolean;
}

/**
 * The PostgreSQL primary on the `database` machine: the server on a local volume, initialised
 * by the rendered init script; postgres-exporter; and scheduled logical backups to the NAS.
 */
export class PostgresPrimary extends pulumi.ComponentResource {
    /** The local named volume holding the data directory (kept when the stack is destroyed). */
    public readonly dataVolume: docker.Volume;
    public readonly server: docker.Container;
    public readonly exporter: docker.Container;
    public readonly backup: docker.Container;

    constructor(name: string, args: PostgresPrimaryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:postgres:PostgresPrimary", name, {}, opts);
        const { machine, config, layout, secrets } = args;

        this.dataVolume = machine.localVolume("postgres-data", this);
        const server: ContainerSpec = {
            name: "postgres",
            image: config.images.postgres,
            // The wrapper reconciles roles, passwords, the slot and pg_hba.conf on every start, then runs the image's entrypoint.
            entrypoint: [primaryEntrypointPath],
            command: ["docker-entrypoint.sh", ...serverCommand(serverSettings({ maxSlotWalKeepSizeGb: config.postgres.maxSlotWalKeepSizeGb, clusterName: machine.machineName }))],
            env: {
                POSTGRES_USER: superuser,
                POSTGRES_DB: "postgres",
                POSTGRES_PASSWORD_FILE: passwordFile(superuser),
                POSTGRES_SECRETS_DIR: secretsDir,
                PGDATA: layout.pgdata,
                AI_PLATFORM_INIT_SCRIPT: initScriptPath,
            },
            files: [
                { path: primaryEntrypointPath, content: renderPrimaryEntrypoint(), executable: true },
                {
                    path: initScriptPath,
                    content: renderInitScript({ lanCidr: config.lanCidr, replicationSlot: args.withReplica ? replicationSlot : undefined }),
                },
            ],
            secretFiles: passwordFiles(secrets, [superuser, ...passwordRoles]),
            mounts: [{ containerPath: layout.mountPath, volumeName: this.dataVolume.name }],
            ports: [{ internal: 5432, external: machine.port("postgres").external }],
            networks: [
                { name: machine.frontendNetwork.name, aliases: [primaryAlias] },
                { name: machine.backendNetwork.name, aliases: [primaryAlias] },
            ],
            shmSizeMb: 256,
            // TCP only: during initialisation the image runs a socket-only server that must not count as up.
            healthcheck: serverHealthcheck("2m"),
            stopTimeoutSeconds,
        };
        this.server = machine.container(server, this);

        this.exporter = machine.container(
            exporterSpec({
                name: "postgres-exporter",
                image: config.images.postgresExporter,
                serverAlias: primaryAlias,
                publishedPort: machine.port("postgres-exporter").external,
                network: machine.frontendNetwork.name,
                password: rolePassword(secrets, "postgres_exporter"),
            }),
            this,
            { dependsOn: [this.server] },
        );

        const backups = machine.nasVolumes.backups;
        if (backups === undefined) throw new Error(`${machine.machineName} has the database role but no backups volume`);
        const interval = scheduleIntervalSeconds(config.postgres.backupSchedule);
        if (interval === undefined) throw new Error("validatePlatform guarantees postgres.backupSchedule parses");
        const backup: ContainerSpec = {
            name: "postgres-backup",
            image: config.images.postgresBackup,
            env: backupEnvironment({
                host: primaryAlias,
                port: 5432,
                databases: appDatabases,
                user: superuser,
                passwordFile: passwordFile(superuser),
                schedule: config.postgres.backupSchedule,
                keepDays: config.postgres.backupKeepDays,
                keepWeeks: config.postgres.backupKeepWeeks,
                keepMonths: config.postgres.backupKeepMonths,
            }),
            secretFiles: passwordFiles(secrets, [superuser]),
            // The hook records each run's outcome for node-exporter's textfile collector (alerts: PostgresBackupFailed, PostgresBackupTooOld).
            files: [{ path: backupHookPath, content: renderBackupHook({ metricsDir: textfileContainerDir, maxAgeSeconds: backupMaxAgeSeconds(interval) }), executable: true }],
            mounts: [
                { containerPath: backupDir, volumeName: backups.name },
                { containerPath: textfileContainerDir, hostPath: textfileHostDir },
            ],
            networks: [{ name: machine.backendNetwork.name }],
            // go-cron answers 503 from a failed run until the next good one: the container shows unhealthy.
            healthcheck: { test: ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://localhost:${backupHealthPort}/`] },
            labels: {
                autoheal: "false",
                [`${platformLabel}.no-autoheal`]: "a failed backup turns the check unhealthy until the next good run; a restart would only hide it (the alerts come from the backup's metrics)",
            },
        };
        this.backup = machine.container(backup, this, { dependsOn: [this.server] });

        this.registerOutputs({ server: this.server.name, exporter: this.exporter.name, backup: this.backup.name });
    }
}
