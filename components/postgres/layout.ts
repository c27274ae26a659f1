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
