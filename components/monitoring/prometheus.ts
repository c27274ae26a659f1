import { stringify } from "yaml";
import { Catalog, CatalogEntry } from "../catalog/catalog";

/** Where the rendered files sit inside the Prometheus container. */
export const prometheusPaths = {
    config: "/etc/prometheus/prometheus.yml",
    rules: "/etc/prometheus/rules/platform.yml",
    /** Relative to the config file, so that `promtool check config` finds the rules next to a rendered copy. */
    rulesRelative: "rules/platform.yml",
    data: "/prometheus",
} as const;

/** Where Prometheus reaches its peers on the monitoring machine. */
export interface PrometheusPeers {
    /** `host:port` of Alertmanager. */
    readonly alertmanager: string;
    /** `host:port` of the blackbox exporter. */
    readonly blackbox: string;
}

interface StaticConfig {
    targets: string[];
    labels: Record<string, string>;
}

function targetLabels(entry: CatalogEntry): Record<string, string> {
    return { machine: entry.machine, service: entry.service };
}

/** One scrape job per service that exposes metrics, one target group per instance, labelled by machine and service. */
function scrapeJobs(entries: readonly CatalogEntry[]): Record<string, unknown>[] {
    const byService = new Map<string, { path: string; groups: StaticConfig[] }>();
    for (const entry of entries) {
        if (entry.metrics === undefined) continue;
        const job = byService.get(entry.service) ?? { path: entry.metrics.path, groups: [] };
        job.groups.push({ targets: [entry.metrics.target], labels: targetLabels(entry) });
        byService.set(entry.service, job);
    }
    return [...byService.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([service, job]) => ({ job_name: service, metrics_path: job.path, static_configs: job.groups }));
}

/** The probe target of an entry: the URL for HTTP, `host:port` for a TCP health URL; UDP cannot be probed by connecting. */
function probeTarget(entry: CatalogEntry, module: "http_2xx" | "tcp_connect"): string | undefined {
    const tcp = entry.healthUrl.startsWith("tcp://");
    if (module === "http_2xx") return tcp ? undefined : entry.healthUrl;
    return tcp && entry.protocol === "tcp" ? entry.healthUrl.slice("tcp://".length) : undefined;
}

/** Blackbox jobs: the exporter probes each target given as `?target=`, and the series keep the target as `instance`. */
function probeJob(module: "http_2xx" | "tcp_connect", entries: readonly CatalogEntry[], blackbox: string): Record<string, unknown> | undefined {
    const groups = entries.flatMap((entry): StaticConfig[] => {
        const target = probeTarget(entry, module);
        return target === undefined ? [] : [{ targets: [target], labels: targetLabels(entry) }];
    });
    if (groups.length === 0) return undefined;
    return {
        job_name: `probe-${module === "http_2xx" ? "http" : "tcp"}`,
        metrics_path: "/probe",
        params: { module: [module] },
        static_configs: groups,
        relabel_configs: [
            { source_labels: ["__address__"], target_label: "__param_target" },
            { source_labels: ["__param_target"], target_label: "instance" },
            { target_label: "__address__", replacement: blackbox },
        ],
    };
}

/**
 * prometheus.yml from the catalog: every service with metrics is scraped, every health URL is
 * probed, alerts go to Alertmanager. A machine that is not enabled is not in the catalog, so it
 * has no target here. Valid for Prometheus 2.x and 3.x alike.
 */
export function renderPrometheusConfig(catalog: Catalog, peers: PrometheusPeers): string {
    const probes = (["http_2xx", "tcp_connect"] as const)
        .map((module) => probeJob(module, catalog.entries, peers.blackbox))
        .filter((job): job is Record<string, unknown> => job !== undefined);
    const config = {
        global: { scrape_interval: "30s", scrape_timeout: "10s", evaluation_interval: "30s" },
        alerting: { alertmanagers: [{ static_configs: [{ targets: [peers.alertmanager] }] }] },
        rule_files: [prometheusPaths.rulesRelative],
        scrape_configs: [...scrapeJobs(catalog.entries), ...probes],
    };
    return stringify(config, { lineWidth: 0 });
}
