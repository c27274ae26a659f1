/**
 * Pinned default images. Every image carries an explicit version tag; a stack may
 * override any of them under `ai-platform:images` (the override must be pinned too).
 */
export const defaultImages = {
    ollama: "ollama/ollama:0.12.6",
    ollamaRocm: "ollama/ollama:0.12.6-rocm",
    litellm: "ghcr.io/berriai/litellm-database:v1.108.12",
    openWebUi: "ghcr.io/open-webui/open-webui:v0.6.34",
    postgres: "postgres:17.6-bookworm",
    postgresBackup: "prodrigestivill/postgres-backup-local:17",
    postgresExporter: "quay.io/prometheuscommunity/postgres-exporter:v0.18.1",
    traefik: "traefik:v3.5.3",
    uptimeKuma: "louislam/uptime-kuma:2.0.2",
    coredns: "coredns/coredns:1.13.1",
    mcpoBase: "ghcr.io/open-webui/mcpo:v0.0.19",
    prometheus: "prom/prometheus:v3.7.3",
    alertmanager: "prom/alertmanager:v0.28.1",
    grafana: "grafana/grafana:12.2.1",
    loki: "grafana/loki:3.5.7",
    alloy: "grafana/alloy:v1.11.3",
    blackboxExporter: "prom/blackbox-exporter:v0.27.0",
    nodeExporter: "quay.io/prometheus/node-exporter:v1.10.2",
    cadvisor: "ghcr.io/google/cadvisor:v0.57.0",
    autoheal: "willfarrell/autoheal:1.2.0",
    dcgmExporter: "nvcr.io/nvidia/k8s/dcgm-exporter:4.4.1-4.6.0-ubuntu22.04",
    amdExporter: "rocm/device-metrics-exporter:v1.4.0",
} as const;

export type ImageKey = keyof typeof defaultImages;
export type Images = Record<ImageKey, string>;

/** True when an image reference names a version: a tag other than `latest`, or a digest. */
export function isPinned(ref: string): boolean {
    if (/@sha256:[0-9a-f]{64}$/.test(ref)) return true;
    const lastSegment = ref.slice(ref.lastIndexOf("/") + 1);
    const colon = lastSegment.indexOf(":");
    if (colon < 0) return false;
    const tag = lastSegment.slice(colon + 1);
    return tag.length > 0 && tag !== "latest" && tag !== "main" && tag !== "stable";
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
 * Problems with the PostgreSQL images, each naming its config key: the server's major version
 * decides PGDATA and the replica's layout, and pg_dump must be at least as new as the server.
 */
export function postgresImageIssues(images: Pick<Images, "postgres" | "postgresBackup">): { path: string; message: string }[] {
    const major = majorVersion(images.postgres);
    const backupMajor = majorVersion(images.postgresBackup);
    const issues: { path: string; message: string }[] = [];
    if (major === undefined) issues.push({ path: "images.postgres", message: `${images.postgres} must carry its major version in the tag (such as postgres:17.6-bookworm): PGDATA and the replica depend on it` });
    if (backupMajor === undefined) issues.push({ path: "images.postgresBackup", message: `${images.postgresBackup} must carry the PostgreSQL major version in the tag (such as prodrigestivill/postgres-backup-local:17)` });
    if (major !== undefined && backupMajor !== undefined && backupMajor < major) {
        issues.push({ path: "images.postgresBackup", message: `pg_dump ${backupMajor} cannot dump a PostgreSQL ${major} server; use a tag of ${major} or later` });
    }
    return issues;
}
