import { stringify } from "yaml";
import { backupMetrics } from "../postgres/backup";

/** One Prometheus alerting rule. */
export interface AlertRule {
    readonly alert: string;
    readonly expr: string;
    readonly for: string;
    readonly severity: "critical" | "warning";
    readonly summary: string;
}

/** Thresholds the rules use; exported so that the rule unit tests and the docs quote the same numbers. */
export const thresholds = {
    diskFreeRatio: 0.1,
    nvidiaGpuCelsius: 85,
    amdEdgeCelsius: 85,
    amdJunctionCelsius: 100,
    gpuMemoryUsedRatio: 0.95,
    replicationLagBytes: 64 * 1024 * 1024,
    containerRestarts: 3,
} as const;

const where = "{{ $labels.service }} on {{ $labels.machine }}";

/**
 * The platform's alerts. Metric names: node-exporter, cAdvisor, blackbox exporter,
 * postgres_exporter (pg_up, pg_stat_replication_pg_wal_lsn_diff, pg_replication_slot_slot_is_active,
 * pg_replication_is_replica), the backup hook's textfile metrics (ai_platform_backup_*, through
 * node-exporter), dcgm-exporter (DCGM_FI_DEV_*) and AMD device-metrics-exporter (gpu_*).
 */
export const alertRules: Readonly<Record<string, readonly AlertRule[]>> = {
    availability: [
        { alert: "InstanceDown", expr: "up == 0", for: "5m", severity: "critical", summary: `${where} does not answer scrapes` },
        { alert: "ProbeFailing", expr: "probe_success == 0", for: "5m", severity: "critical", summary: `health probe of ${where} fails ({{ $labels.instance }})` },
    ],
    hosts: [
        {
            alert: "DiskNearlyFull",
            expr: `node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|nfs.*"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs|nfs.*"} < ${thresholds.diskFreeRatio} and node_filesystem_readonly == 0`,
            for: "15m",
            severity: "warning",
            summary: "{{ $labels.mountpoint }} on {{ $labels.machine }} has less than 10% free space",
        },
    ],
    containers: [
        {
            alert: "ContainerRestarting",
            expr: `changes(container_start_time_seconds{name=~".+"}[15m]) >= ${thresholds.containerRestarts}`,
            for: "0m",
            severity: "warning",
            summary: "container {{ $labels.name }} on {{ $labels.machine }} restarted 3 or more times in 15 minutes",
        },
    ],
    gpus: [
        {
            alert: "GpuTemperatureHigh",
            expr: `DCGM_FI_DEV_GPU_TEMP > ${thresholds.nvidiaGpuCelsius} or gpu_edge_temperature > ${thresholds.amdEdgeCelsius} or gpu_junction_temperature > ${thresholds.amdJunctionCelsius}`,
            for: "10m",
            severity: "warning",
            summary: "GPU {{ $labels.gpu }}{{ $labels.gpu_id }} on {{ $labels.machine }} runs hot ({{ $value }} C)",
        },
        {
            alert: "GpuMemoryNearlyFull",
            expr: `DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > ${thresholds.gpuMemoryUsedRatio} or gpu_used_vram / gpu_total_vram > ${thresholds.gpuMemoryUsedRatio}`,
            for: "30m",
            severity: "warning",
            summary: "GPU {{ $labels.gpu }}{{ $labels.gpu_id }} on {{ $labels.machine }} has used more than 95% of its memory for 30 minutes",
        },
    ],
    postgres: [
        { alert: "PostgresDown", expr: "pg_up == 0", for: "2m", severity: "critical", summary: `${where} cannot reach its PostgreSQL server` },
        {
            alert: "PostgresReplicationLag",
            expr: `pg_stat_replication_pg_wal_lsn_diff > ${thresholds.replicationLagBytes}`,
            for: "5m",
            severity: "warning",
            summary: "replica {{ $labels.application_name }} is more than 64 MiB of WAL behind the primary on {{ $labels.machine }}",
        },
        {
            alert: "PostgresReplicaDown",
            expr: `pg_replication_slot_slot_is_active{slot_type="physical"} == 0`,
            for: "5m",
            severity: "critical",
            summary: "no replica streams from replication slot {{ $labels.slot_name }} on {{ $labels.machine }}",
        },
        {
            alert: "PostgresBackupFailed",
            expr: `${backupMetrics.lastRunSuccess} == 0`,
            for: "0m",
            severity: "critical",
            summary: "the last PostgreSQL backup on {{ $labels.machine }} failed (docker logs {{ $labels.machine }}-postgres-backup)",
        },
        {
            alert: "PostgresBackupTooOld",
            expr: `time() - ${backupMetrics.lastSuccess} > ${backupMetrics.maxAge}`,
            for: "10m",
            severity: "critical",
            summary: "the last good PostgreSQL backup on {{ $labels.machine }} is {{ $value | humanizeDuration }} old, more than its schedule allows",
        },
        {
            alert: "PostgresReplicaNotReplicating",
            expr: `pg_replication_is_replica{service="postgres-replica-exporter"} == 0`,
            for: "5m",
            severity: "critical",
            summary: "the replica on {{ $labels.machine }} is not in recovery (promoted, or bootstrapped wrongly)",
        },
    ],
};

/** The rules file Prometheus loads (`rule_files`). DCGM labels a GPU `gpu`, the AMD exporter `gpu_id`. */
export function renderAlertRules(): string {
    return stringify(
        {
            groups: Object.entries(alertRules).map(([name, group]) => ({
                name,
                rules: group.map((rule) => ({
                    alert: rule.alert,
                    expr: rule.expr,
                    for: rule.for,
                    labels: { severity: rule.severity },
                    annotations: { summary: rule.summary },
                })),
            })),
        },
        { lineWidth: 0 },
    );
}
