import { stringify } from "yaml";
import type { Healthcheck, NoHealthcheck } from "../container/spec";

export const lokiPaths = { config: "/etc/loki/loki.yml", data: "/loki" } as const;

/**
 * Loki as a single binary: filesystem chunks and a tsdb index (schema v13) under /loki, which is
 * a local volume; the compactor deletes logs older than the retention.
 */
export function renderLokiConfig(retention: string): string {
    return stringify({
        auth_enabled: false,
        server: { http_listen_port: 3100, grpc_listen_port: 9096, log_level: "warn" },
        common: {
            instance_addr: "127.0.0.1",
            path_prefix: lokiPaths.data,
            storage: { filesystem: { chunks_directory: `${lokiPaths.data}/chunks`, rules_directory: `${lokiPaths.data}/rules` } },
            replication_factor: 1,
            ring: { kvstore: { store: "inmemory" } },
        },
        schema_config: {
            configs: [{ from: "2024-01-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } }],
        },
        limits_config: { retention_period: retention },
        compactor: { working_directory: `${lokiPaths.data}/compactor`, retention_enabled: true, delete_request_store: "filesystem" },
        analytics: { reporting_enabled: false },
    });
}

/** `major.minor` of an image tag such as `grafana/loki:3.5.7`; undefined for a digest or an unversioned tag. */
function tagVersion(image: string): [number, number] | undefined {
    const lastSegment = image.slice(image.lastIndexOf("/") + 1);
    if (lastSegment.includes("@")) return undefined;
    const match = /:v?(\d+)\.(\d+)/.exec(lastSegment);
    return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

/**
 * What the Loki image can run to check `/ready`: up to 3.5 the image is distroless with busybox
 * (wget on the PATH); 3.6 dropped busybox and has nothing; 3.7 added `loki -health`. An image
 * whose version cannot be read gets no check rather than one that fails forever (autoheal would
 * restart a healthy Loki in a loop).
 */
export function lokiHealthcheck(image: string, port: number): Healthcheck | NoHealthcheck {
    const version = tagVersion(image);
    if (version === undefined) return { none: `cannot tell from ${image} which probe the Loki image can run; Prometheus probes /ready` };
    const [major, minor] = version;
    if (major < 3 || (major === 3 && minor <= 5)) return { test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://localhost:${port}/ready`], startPeriod: "60s" };
    if (major === 3 && minor === 6) return { none: "Loki 3.6 ships no shell, HTTP client or health command; Prometheus probes /ready" };
    return { test: ["CMD", "/usr/bin/loki", "-health"], startPeriod: "60s" };
}
