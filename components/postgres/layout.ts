/** Where the official image keeps its data: the volume's mount point and PGDATA. */
export interface DataLayout {
    readonly mountPath: string;
    readonly pgdata: string;
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
