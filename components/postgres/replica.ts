import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { Machine } from "../../machines/machine";
import { ContainerSpec } from "../container/spec";
import { PlatformSecrets } from "../secrets/secrets";
import { renderReplicaEntrypoint, replicaEntrypointPath } from "./bootstrap";
import { exporterSpec } from "./exporter";
import { DataLayout } from "./layout";
import { replicationRole, replicationSlot, passwordFile } from "./roles";
import { passwordFiles, rolePassword } from "./secrets";
import { serverCommand, serverHealthcheck, serverSettings, stopTimeoutSeconds } from "./server";

export const replicaAlias = "postgres-replica";

export interface PostgresReplicaArgs {
    /** The machine with the `database-replica` role. */
    readonly machine: Machine;
    /** The validated platform config (images, postgres settings). */
    readonly config: PlatformConfig;
    /** Where the pinned major keeps its data (the same major as the primary). */
    readonly layout: DataLayout;
    /** The generated passwords of the replication and exporter roles. */
    readonly secrets: PlatformSecrets;
    /** The primary's LAN address and published port, which the replica streams from. */
    readonly primary: { readonly host: string; readonly port: number };
}

/**
 * The streaming replica on the `database-replica` machine: a hot standby cloned from the primary
 * by the rendered wrapper entrypoint on first start, and its postgres-exporter (replication lag).
 */
export class PostgresReplica extends pulumi.ComponentResource {
    /** The local named volume holding the standby's data directory (kept when the stack is destroyed). */
    public readonly dataVolume: docker.Volume;
    public readonly server: docker.Container;
    public readonly exporter: docker.Container;

    constructor(name: string, args: PostgresReplicaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:postgres:PostgresReplica", name, {}, opts);
        const { machine, config, layout, secrets } = args;

        // The primary's volume name too: after a failover the promoted data is where a primary looks for it.
        this.dataVolume = machine.localVolume("postgres-data", this);
        const server: ContainerSpec = {
            name: "postgres-replica",
            image: config.images.postgres,
            entrypoint: [replicaEntrypointPath],
            command: ["docker-entrypoint.sh", ...serverCommand(serverSettings({ maxSlotWalKeepSizeGb: config.postgres.maxSlotWalKeepSizeGb, clusterName: machine.machineName }))],
            env: {
                PGDATA: layout.pgdata,
                PGPASSFILE: "/var/lib/postgresql/replication.pgpass",
                PRIMARY_HOST: args.primary.host,
                PRIMARY_PORT: String(args.primary.port),
                REPLICATION_USER: replicationRole,
                REPLICATION_SLOT: replicationSlot,
                REPLICATION_PASSWORD_FILE: passwordFile(replicationRole),
            },
            files: [{ path: replicaEntrypointPath, content: renderReplicaEntrypoint(), executable: true }],
            secretFiles: passwordFiles(secrets, [replicationRole]),
            mounts: [{ containerPath: layout.mountPath, volumeName: this.dataVolume.name }],
            ports: [{ internal: 5432, external: machine.port("postgres-replica").external }],
            networks: [
                { name: machine.frontendNetwork.name, aliases: [replicaAlias] },
                { name: machine.backendNetwork.name, aliases: [replicaAlias] },
            ],
            shmSizeMb: 256,
            // The first start copies the whole primary before the server listens: allow for it.
            healthcheck: serverHealthcheck("30m"),
            stopTimeoutSeconds,
        };
        this.server = machine.container(server, this);

        this.exporter = machine.container(
            exporterSpec({
                name: "postgres-replica-exporter",
                image: config.images.postgresExporter,
                serverAlias: replicaAlias,
                publishedPort: machine.port("postgres-replica-exporter").external,
                network: machine.frontendNetwork.name,
                password: rolePassword(secrets, "postgres_exporter"),
            }),
            this,
            { dependsOn: [this.server] },
        );

        this.registerOutputs({ server: this.server.name, exporter: this.exporter.name });
    }
}
