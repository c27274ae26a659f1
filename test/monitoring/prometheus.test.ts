import * as assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { prometheusPaths, renderPrometheusConfig } from "../../components/monitoring/prometheus";
import { renderAlertRules } from "../../components/monitoring/rules";
import { catalogOf, homelab, runTool, validated, withDisabled, writeTree } from "./render";

interface StaticConfig {
    targets: string[];
    labels: Record<string, string>;
}
interface Job {
    job_name: string;
    metrics_path: string;
    params?: { module: string[] };
    static_configs: StaticConfig[];
    relabel_configs?: { replacement?: string; target_label: string }[];
}

const peers = { alertmanager: "alertmanager:9093", blackbox: "blackbox-exporter:9115" };

function render(config = homelab): string {
    return renderPrometheusConfig(catalogOf(config), peers);
}

function jobs(rendered: string): Job[] {
    return (parse(rendered) as { scrape_configs: Job[] }).scrape_configs;
}

function job(rendered: string, name: string): Job {
    const found = jobs(rendered).find((j) => j.job_name === name);
    assert.ok(found, `job ${name} in ${jobs(rendered).map((j) => j.job_name).join(", ")}`);
    return found;
}

function machinesOf(j: Job): string[] {
    return j.static_configs.map((group) => group.labels.machine).sort();
}

const enabledMachines = Object.keys(homelab.machines as object).sort();

describe("prometheus.yml for the homelab stack", () => {
    const rendered = render();

    test("promtool check config accepts it, with the rules file next to it", () => {
        const dir = writeTree({ "prometheus.yml": rendered, [prometheusPaths.rulesRelative]: renderAlertRules() });
        const result = runTool("promtool", ["check", "config", "prometheus.yml"], dir);
        assert.equal(result.status, 0, result.output);
        assert.match(result.output, /1 rule files found/);
    });

    test("node-exporter, cAdvisor and Alloy are scraped on every machine", () => {
        for (const name of ["node-exporter", "cadvisor", "alloy"]) assert.deepEqual(machinesOf(job(rendered, name)), enabledMachines, name);
    });

    test("GPU exporters are scraped where the GPUs are", () => {
        assert.deepEqual(machinesOf(job(rendered, "dcgm-exporter")), ["kratos", "nyx", "orpheus"]);
        assert.deepEqual(machinesOf(job(rendered, "amd-exporter")), ["hades"]);
        assert.deepEqual(job(rendered, "dcgm-exporter").static_configs.map((g) => g.targets[0]).sort(), ["192.168.10.21:9400", "192.168.10.22:9400", "192.168.10.23:9400"]);
    });

    test("postgres exporters, LiteLLM, Traefik and the monitoring services are scraped", () => {
        assert.deepEqual(machinesOf(job(rendered, "postgres-exporter")), ["erebus"]);
        assert.deepEqual(machinesOf(job(rendered, "postgres-replica-exporter")), ["thanatos"]);
        assert.equal(job(rendered, "litellm").metrics_path, "/metrics/");
        assert.deepEqual(job(rendered, "litellm").static_configs[0].targets, ["192.168.10.21:4000"]);
        assert.deepEqual(job(rendered, "traefik").static_configs[0].targets, ["192.168.10.12:8082"]);
        assert.deepEqual(job(rendered, "coredns").static_configs[0].targets, ["192.168.10.12:9153"]);
        for (const name of ["prometheus", "alertmanager", "grafana", "loki", "blackbox-exporter"]) assert.deepEqual(machinesOf(job(rendered, name)), ["moros"], name);
    });

    test("every target group carries its machine and service", () => {
        for (const j of jobs(rendered)) {
            for (const group of j.static_configs) {
                assert.ok(group.labels.machine, `${j.job_name} ${group.targets}`);
                assert.ok(group.labels.service, `${j.job_name} ${group.targets}`);
            }
        }
    });

    test("every HTTP health URL is probed with http_2xx, every TCP one with tcp_connect, through the blackbox exporter", () => {
        const catalog = catalogOf(homelab);
        const http = job(rendered, "probe-http");
        const tcp = job(rendered, "probe-tcp");
        assert.deepEqual(http.params?.module, ["http_2xx"]);
        assert.deepEqual(tcp.params?.module, ["tcp_connect"]);
        const httpTargets = http.static_configs.map((g) => g.targets[0]).sort();
        const tcpTargets = tcp.static_configs.map((g) => g.targets[0]).sort();
        assert.deepEqual(httpTargets, catalog.entries.filter((e) => e.healthUrl.startsWith("http")).map((e) => e.healthUrl).sort());
        assert.deepEqual(tcpTargets, ["192.168.10.11:5432", "192.168.10.13:5432"]);
        assert.ok(httpTargets.includes("http://192.168.10.21:4000/health/liveliness"));
        for (const j of [http, tcp]) assert.ok(j.relabel_configs?.some((r) => r.target_label === "__address__" && r.replacement === peers.blackbox));
    });

    test("alerts go to Alertmanager and the rules file is loaded", () => {
        const doc = parse(rendered) as { alerting: { alertmanagers: { static_configs: StaticConfig[] }[] }; rule_files: string[] };
        assert.deepEqual(doc.alerting.alertmanagers[0].static_configs[0].targets, [peers.alertmanager]);
        assert.deepEqual(doc.rule_files, [prometheusPaths.rulesRelative]);
        assert.equal(path.posix.join(path.posix.dirname(prometheusPaths.config), prometheusPaths.rulesRelative), prometheusPaths.rules, "the container's rules file is where rule_files points");
    });
});

describe("a disabled machine", () => {
    const config = withDisabled("kratos");
    const rendered = render(config);

    test("has no scrape or probe target, while every enabled machine keeps its own", () => {
        const address = (homelab.machines as Record<string, { address: string }>).kratos.address;
        assert.doesNotMatch(rendered, new RegExp(address.replace(/\./g, "\\.")));
        assert.ok(jobs(rendered).every((j) => j.static_configs.every((g) => g.labels.machine !== "kratos")));
        const enabled = Object.entries(validated(config).machines).filter(([, m]) => m.enabled).map(([name]) => name).sort();
        assert.deepEqual(machinesOf(job(rendered, "node-exporter")), enabled);
        assert.deepEqual(machinesOf(job(rendered, "dcgm-exporter")), ["nyx", "orpheus"]);
    });

    test("still renders a config promtool accepts", () => {
        const dir = writeTree({ "prometheus.yml": rendered, [prometheusPaths.rulesRelative]: renderAlertRules() });
        const result = runTool("promtool", ["check", "config", "prometheus.yml"], dir);
        assert.equal(result.status, 0, result.output);
    });
});
