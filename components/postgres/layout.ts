/** Where the official image keeps its data: the volume's mount point and PGDATA. */
export interface DataLayout {
    readonly mountPath: string;
    readonly pgdata: string;
}

/** The major version of an image reference such as `postgres:17.6-bookworm` or `...:17`; undefined when the tag names none. */
export function majorVersion(image: string): number | undefined {
    const lastSegment = image.slice(image.lastIndexOf("/") + 1).split("@")[0];
    const colon = lastSegment.indexOf(":");
    if (colon < 0) return undefined;
    const match = /^(\d+)(?:[.-]|$)/.exec(lastSegment.slice(colon + 1));
    return match === null ? undefined : Number(match[1]);
}

/**
 * The 18 image moved PGDATA to `/var/lib/postgresql/<major>/docker` and expects the volume on
 * `/var/lib/postgresql` (so that pg_upgrade --link works across majors); up to 17 both are
 * `/var/lib/postgresql/data`.
 */
export function dataLayout(major: number): DataLayout {
    if (major >= 18) return { mountPath: "/var/lib/postgresql", pgdata: `/var/lib/postgresql/${major}/docker` };
    return { mountPath: "/var/lib/postgresql/data", pgdata: "/var/lib/postgresql/data" };
}

/** The server's major version, and whether the backup image's pg_dump can dump it; problems as messages naming the config key. */
export function postgresVersion(images: { readonly postgres: string; readonly postgresBackup: string }): { major?: number; issues: string[] } {
    const major = majorVersion(images.postgres);
    const backupMajor = majorVersion(images.postgresBackup);
    const issues: string[] = [];
    if (major === undefined) issues.push(`images.postgres: ${images.postgres} must carry its major version in the tag (such as postgres:17.6-bookworm): PGDATA and the replica depend on it`);
    if (backupMajor === undefined) issues.push(`images.postgresBackup: ${images.postgresBackup} must carry the PostgreSQL major version in the tag (such as prodrigestivill/postgres-backup-local:17)`);
    if (major !== undefined && backupMajor !== undefined && backupMajor < major) {
        issues.push(`images.postgresBackup: pg_dump ${backupMajor} cannot dump a PostgreSQL ${major} server; use a tag of ${major} or later`);
    }
    return { major, issues };
}
