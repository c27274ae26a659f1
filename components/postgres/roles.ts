/** The applications that keep their state in the platform's PostgreSQL, each with its own database and owner. */
export const appDatabases = ["litellm", "openwebui", "grafana"] as const;
export type AppDatabase = (typeof appDatabases)[number];

/** The superuser the image creates (POSTGRES_USER); backups and the operator scripts use it. */
export const superuser = "postgres";
/** The role the replica streams WAL with (REPLICATION, no database access). */
export const replicationRole = "replicator";
/** The role postgres-exporter reads statistics with (member of pg_monitor). */
export const exporterRole = "postgres_exporter";
/** The primary's physical replication slot for the one streaming replica. */
export const replicationSlot = "replica";

/** Where each login role's password file is uploaded in the containers: `<dir>/<role>`. */
export const secretsDir = "/run/secrets/postgres";

export function passwordFile(role: string): string {
    return `${secretsDir}/${role}`;
}

/** Every login role whose password the init script reads: the replication and exporter roles, then each app owner. */
export const passwordRoles: readonly string[] = [replicationRole, exporterRole, ...appDatabases];
