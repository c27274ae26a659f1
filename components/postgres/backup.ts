/** The backup files' suffix: pg_dump's custom format, restored with pg_restore. */
export const backupSuffix = ".dump";
/** Where the NAS `backups` volume is mounted in the backup container (the image's BACKUP_DIR). */
export const backupDir = "/backups";
/** The backup image's own health endpoint (go-cron's status page). */
export const backupHealthPort = 8080;

export interface BackupEnvironmentArgs {
    /** The server as the backup container reaches it (the primary's alias on the machine's network). */
    readonly host: string;
    readonly port: number;
    readonly databases: readonly string[];
    readonly user: string;
    /** The path of the user's password file in the container. */
    readonly passwordFile: string;
    /** Cron expression or @daily/@hourly (go-cron). */
    readonly schedule: string;
    readonly keepDays: number;
    readonly keepWeeks: number;
    readonly keepMonths: number;
}

/**
 * The environment of prodrigestivill/postgres-backup-local. Its backup.sh runs, per database,
 * `pg_dump -d <db> -f <BACKUP_DIR>/last/<db>-<time><BACKUP_SUFFIX> $POSTGRES_EXTRA_OPTS`, then
 * hard-links daily/weekly/monthly copies and prunes them by the BACKUP_KEEP_* values.
 */
export function backupEnvironment(args: BackupEnvironmentArgs): Record<string, string> {
    return {
        POSTGRES_HOST: args.host,
        POSTGRES_PORT: String(args.port),
        POSTGRES_DB: args.databases.join(","),
        POSTGRES_USER: args.user,
        POSTGRES_PASSWORD_FILE: args.passwordFile,
        POSTGRES_EXTRA_OPTS: "--format=custom --compress=6",
        BACKUP_SUFFIX: backupSuffix,
        BACKUP_DIR: backupDir,
        SCHEDULE: args.schedule,
        BACKUP_KEEP_DAYS: String(args.keepDays),
        BACKUP_KEEP_WEEKS: String(args.keepWeeks),
        BACKUP_KEEP_MONTHS: String(args.keepMonths),
        HEALTHCHECK_PORT: String(backupHealthPort),
    };
}
