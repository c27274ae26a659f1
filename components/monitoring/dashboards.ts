import { datasourceUids } from "./grafana";

/** One panel: a title, its kind, one query per series, and a unit. */
interface PanelSpec {
    readonly title: string;
    readonly type: "timeseries" | "stat" | "logs";
    /** PromQL (or LogQL for a logs panel) with its legend. */
    readonly queries: readonly { readonly expr: string; readonly legend?: string }[];
    readonly unit?: string;
    /** Grid width out of 24 (default 12). */
    readonly width?: number;
}

export interface Dashboard {
    readonly uid: string;
    readonly title: string;
    readonly panels: readonly PanelSpec[];
}

function panelJson(panel: PanelSpec, id: number, x: number, y: number): Record<string, unknown> {
    const datasource = panel.type === "logs" ? { type: "loki", uid: datasourceUids.loki } : { type: "prometheus", uid: datasourceUids.prometheus };
    return {
        id,
        type: panel.type,
        title: panel.title,
        datasource,
        gridPos: { x, y, w: panel.width ?? 12, h: 8 },
        targets: panel.queries.map((query, i) => ({
            refId: String.fromCharCode(65 + i),
            datasource,
            expr: query.expr,
            ...(query.legend === undefined ? {} : { legendFormat: query.legend }),
        })),
        fieldConfig: { defaults: panel.unit === undefined ? {} : { unit: panel.unit }, overrides: [] },
        options: {},
    };
}

/** Grafana dashboard JSON (schema 39), panels laid out left to right, two per row by default. */
export function dashboardJson(dashboard: Dashboard): string {
    let x = 0;
    let y = 0;
    const panels = dashboard.panels.map((panel, i) => {
        const width = panel.width ?? 12;
        if (x + width > 24) {
            x = 0;
            y += 8;
        }
        const json = panelJson(panel, i + 1, x, y);
        x += width;
        return json;
    });
    return `${JSON.stringify(
        {
            uid: dashboard.uid,
            title: dashboard.title,
            tags: ["ai-platform"],
            timezone: "browser",
            schemaVersion: 39,
            version: 1,
            editable: false,
            refresh: "30s",
            time: { from: "now-6h", to: "now" },
            panels,
        },
        null,
        2,
    )}\n`;
}

const byMachineService = "{{machine}} {{service}}";

/** The platform's dashboards: overview, GPUs, the LLM gateway, PostgreSQL replication. */
export const dashboards: readonly Dashboard[] = [
    {
        uid: "platform-overview",
        title: "Platform overview",
        panels: [
            { title: "Scrape targets down", type: "stat", queries: [{ expr: "count(up == 0) or vector(0)" }] },
            { title: "Health probes failing", type: "stat", queries: [{ expr: "count(probe_success == 0) or vector(0)" }] },
            { title: "Services up", type: "timeseries", queries: [{ expr: "up", legend: byMachineService }] },
            { title: "Health probes", type: "timeseries", queries: [{ expr: "probe_success", legend: byMachineService }] },
            {
                title: "CPU busy by machine",
                type: "timeseries",
                unit: "percentunit",
                queries: [{ expr: '1 - avg by (machine) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', legend: "{{machine}}" }],
            },
            {
                title: "Memory used by machine",
                type: "timeseries",
                unit: "percentunit",
                queries: [{ expr: "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", legend: "{{machine}}" }],
            },
            {
                title: "Root filesystem used",
                type: "timeseries",
                unit: "percentunit",
                queries: [{ expr: '1 - node_filesystem_avail_bytes{mountpoint="/"} / node_filesystem_size_bytes{mountpoint="/"}', legend: "{{machine}}" }],
            },
            {
                title: "Container restarts (1h)",
                type: "timeseries",
                queries: [{ expr: 'changes(container_start_time_seconds{name=~".+"}[1h])', legend: "{{machine}} {{name}}" }],
            },
            { title: "Error logs", type: "logs", width: 24, queries: [{ expr: '{machine=~".+"} |~ "(?i)(error|fatal|panic)"' }] },
        ],
    },
    {
        uid: "platform-gpus",
        title: "GPUs",
        panels: [
            {
                title: "GPU temperature",
                type: "timeseries",
                unit: "celsius",
                queries: [
                    { expr: "DCGM_FI_DEV_GPU_TEMP", legend: "{{machine}} GPU {{gpu}}" },
                    { expr: "gpu_edge_temperature or gpu_junction_temperature", legend: "{{machine}} GPU {{gpu_id}}" },
                ],
            },
            {
                title: "GPU utilisation",
                type: "timeseries",
                unit: "percent",
                queries: [
                    { expr: "DCGM_FI_DEV_GPU_UTIL", legend: "{{machine}} GPU {{gpu}}" },
                    { expr: "gpu_gfx_activity", legend: "{{machine}} GPU {{gpu_id}}" },
                ],
            },
            {
                title: "GPU memory used",
                type: "timeseries",
                unit: "percentunit",
                queries: [
                    { expr: "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)", legend: "{{machine}} GPU {{gpu}}" },
                    { expr: "gpu_used_vram / gpu_total_vram", legend: "{{machine}} GPU {{gpu_id}}" },
                ],
            },
            {
                title: "GPU power",
                type: "timeseries",
                unit: "watt",
                queries: [
                    { expr: "DCGM_FI_DEV_POWER_USAGE", legend: "{{machine}} GPU {{gpu}}" },
                    { expr: "gpu_power_usage", legend: "{{machine}} GPU {{gpu_id}}" },
                ],
            },
        ],
    },
    {
        uid: "platform-llm-gateway",
        title: "LLM gateway",
        panels: [
            { title: "Requests per second by model", type: "timeseries", unit: "reqps", queries: [{ expr: "sum by (model) (rate(litellm_requests_metric_total[5m]))", legend: "{{model}}" }] },
            {
                title: "Request latency p95",
                type: "timeseries",
                unit: "s",
                queries: [{ expr: "histogram_quantile(0.95, sum by (le, model) (rate(litellm_request_total_latency_metric_bucket[5m])))", legend: "{{model}}" }],
            },
            { title: "Tokens per second by model", type: "timeseries", queries: [{ expr: "sum by (model) (rate(litellm_total_tokens_metric_total[5m]))", legend: "{{model}}" }] },
            {
                title: "Deployment state (0 healthy, 1 partial, 2 outage)",
                type: "timeseries",
                queries: [{ expr: "litellm_deployment_state", legend: "{{litellm_model_name}} {{api_base}}" }],
            },
            {
                title: "Failed calls to Ollama nodes",
                type: "timeseries",
                queries: [{ expr: "sum by (api_base) (rate(litellm_deployment_failure_responses_total[5m]))", legend: "{{api_base}}" }],
            },
            { title: "Gateway logs", type: "logs", queries: [{ expr: '{service="litellm"}' }] },
        ],
    },
    {
        uid: "platform-postgres",
        title: "PostgreSQL replication",
        panels: [
            { title: "PostgreSQL up", type: "timeseries", queries: [{ expr: "pg_up", legend: byMachineService }] },
            { title: "Replica in recovery", type: "stat", queries: [{ expr: 'pg_replication_is_replica{service="postgres-replica-exporter"}', legend: "{{machine}}" }] },
            { title: "Replication lag (bytes, seen from the primary)", type: "timeseries", unit: "bytes", queries: [{ expr: "pg_stat_replication_pg_wal_lsn_diff", legend: "{{application_name}}" }] },
            {
                title: "Replication lag (seconds since last replayed transaction)",
                type: "timeseries",
                unit: "s",
                queries: [{ expr: 'pg_replication_lag_seconds{service="postgres-replica-exporter"}', legend: "{{machine}}" }],
            },
            { title: "Replication slot active", type: "timeseries", queries: [{ expr: "pg_replication_slot_slot_is_active", legend: "{{slot_name}}" }] },
            { title: "Connections by database", type: "timeseries", queries: [{ expr: "sum by (machine, datname) (pg_stat_database_numbackends)", legend: "{{machine}} {{datname}}" }] },
            // From the backup container's hook, through node-exporter's textfile collector (components/postgres/backup.ts).
            { title: "Age of the last good backup", type: "stat", unit: "s", queries: [{ expr: "time() - ai_platform_backup_last_success_timestamp_seconds", legend: "{{machine}}" }] },
            { title: "Last backup run succeeded", type: "stat", queries: [{ expr: "ai_platform_backup_last_run_success", legend: "{{machine}}" }] },
        ],
    },
];
