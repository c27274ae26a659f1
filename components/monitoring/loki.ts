import { stringify } from "yaml";

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
