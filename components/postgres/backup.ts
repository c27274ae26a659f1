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

/** The backup image runs every executable in /hooks with `pre-backup`, `post-backup` or `error` (run-parts; no dot in the name). */
export const backupHookPath = "/hooks/50-ai-platform-metrics";
/** The host directory node-exporter's textfile collector reads on the database machine. */
export const textfileHostDir = "/var/lib/ai-platform/textfile";
/** Where the backup container sees that directory. */
export const textfileContainerDir = "/var/lib/ai-platform/textfile";
/** The metrics file the hook writes there. */
export const backupMetricsFile = "postgres-backup.prom";

/** The metric names, shared by the hook, the alert rules and the docs. */
export const backupMetrics = {
    lastSuccess: "ai_platform_backup_last_success_timestamp_seconds",
    lastRun: "ai_platform_backup_last_run_timestamp_seconds",
    lastRunSuccess: "ai_platform_backup_last_run_success",
    maxAge: "ai_platform_backup_max_age_seconds",
} as const;

/**
 * How old the last good backup may get before it is overdue: the longest gap between two scheduled
 * runs (config/schedule.ts) plus a grace for the run itself: as long as the gap, at most an hour.
 */
export function backupMaxAgeSeconds(intervalSeconds: number): number {
    return Math.ceil(intervalSeconds + Math.min(intervalSeconds, 3600));
}

/**
 * The hook the backup image's backup.sh runs: `run-parts -a pre-backup --exit-on-error /hooks` before
 * the dumps, `run-parts -a post-backup --reverse --exit-on-error /hooks` after every database was
 * dumped, and `run-parts -a error /hooks` from its ERR trap when any step fails. It writes the
 * outcome for node-exporter's textfile collector, atomically (a temporary file renamed into place):
 * when the last run ended and whether it succeeded, when the last successful run ended (kept from
 * the previous file after a failure; 0 before the first success), and the age after which the last
 * success is overdue. It never fails: a failing post-backup hook would fail the backup. POSIX sh
 * (the image's /bin/sh is dash). Pure.
 */
export function renderBackupHook(args: { readonly metricsDir: string; readonly maxAgeSeconds: number }): string {
    const file = `${args.metricsDir}/${backupMetricsFile}`;
    const m = backupMetrics;
    return `#!/bin/sh
# Rendered by ai-platform (components/postgres/backup.ts): backup outcome -> node-exporter textfile.
action="\${1:-}"
case "$action" in
	post-backup) success=1 ;;
	error) success=0 ;;
	*) exit 0 ;;
esac
file=${quote(file)}
now=$(date +%s)
last_success=0
if [ "$success" = 1 ]; then
	last_success=$now
elif [ -r "$file" ]; then
	last_success=$(awk '$1 == "${m.lastSuccess}" { print $2 }' "$file" 2>/dev/null)
	case "$last_success" in '' | *[!0-9]*) last_success=0 ;; esac
fi
tmp="$file.$$.tmp"
if ! {
	printf '# HELP ${m.lastSuccess} When the last backup of every database succeeded (Unix time; 0: never).\\n'
	printf '# TYPE ${m.lastSuccess} gauge\\n'
	printf '${m.lastSuccess} %s\\n' "$last_success"
	printf '# HELP ${m.lastRun} When the last backup run ended (Unix time).\\n'
	printf '# TYPE ${m.lastRun} gauge\\n'
	printf '${m.lastRun} %s\\n' "$now"
	printf '# HELP ${m.lastRunSuccess} 1 when the last backup run succeeded, 0 when it failed.\\n'
	printf '# TYPE ${m.lastRunSuccess} gauge\\n'
	printf '${m.lastRunSuccess} %s\\n' "$success"
	printf '# HELP ${m.maxAge} Age of the last successful backup after which it is overdue (schedule plus grace).\\n'
	printf '# TYPE ${m.maxAge} gauge\\n'
	printf '${m.maxAge} %s\\n' ${args.maxAgeSeconds}
} > "$tmp" 2>/dev/null || ! chmod 0644 "$tmp" || ! mv -f "$tmp" "$file"; then
	rm -f "$tmp"
	echo "ai-platform backup hook: cannot write $file" >&2
fi
exit 0
`;
}

function quote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}
