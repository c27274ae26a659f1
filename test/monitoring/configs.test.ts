import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { renderAlertmanagerConfig } from "../../components/monitoring/alertmanager";
import { platformLabel } from "../../components/container/spec";
import { dockerLabelMeta, renderAlloyConfig } from "../../components/monitoring/alloy";
import { renderBlackboxConfig } from "../../components/monitoring/blackbox";
import { dashboardJson, dashboards } from "../../components/monitoring/dashboards";
import { datasourceUids, grafanaPaths, renderDashboardProvider, renderDatasources } from "../../components/monitoring/grafana";
import { lokiHealthcheck, renderLokiConfig } from "../../components/monitoring/loki";
import { defaultImages } from "../../config/images";
import { alloyProblems, parseAlloy } from "./alloy-components";
import { runTool, writeTree } from "./render";

interface Route {
    receiver: string;
}
interface Receiver {
    name: string;
    webhook_configs?: { url: string; send_resolved: boolean }[];
}

describe("alertmanager.yml", () => {
    test("without a webhook: amtool accepts it and every alert goes to a receiver that drops it", () => {
        const rendered = renderAlertmanagerConfig(undefined);
        const result = runTool("amtool", ["check-config", "alertmanager.yml"], writeTree({ "alertmanager.yml": rendered }));
        assert.equal(result.status, 0, result.output);
        const doc = parse(rendered) as { route: Route; receivers: Receiver[] };
        assert.equal(doc.route.receiver, "null");
        assert.deepEqual(doc.receivers, [{ name: "null" }]);
    });

    test("with a webhook: amtool accepts it and every alert, and its resolution, goes to the webhook", () => {
        const url = "https://hooks.example.com/services/T000/B000";
        const rendered = renderAlertmanagerConfig(url);
        const result = runTool("amtool", ["check-config", "alertmanager.yml"], writeTree({ "alertmanager.yml": rendered }));
        assert.equal(result.status, 0, result.output);
        const doc = parse(rendered) as { route: Route; receivers: Receiver[] };
        assert.equal(doc.route.receiver, "webhook");
        assert.deepEqual(doc.receivers, [{ name: "webhook", webhook_configs: [{ url, send_resolved: true }] }]);
    });

    test("amtool rejects a broken webhook URL (the check can fail)", () => {
        const result = runTool("amtool", ["check-config", "alertmanager.yml"], writeTree({ "alertmanager.yml": renderAlertmanagerConfig("not a url") }));
        assert.notEqual(result.status, 0);
    });
});

describe("blackbox.yml", () => {
    test("the blackbox exporter itself accepts it (--config.check), and rejects an unknown field", () => {
        const check = (content: string) => runTool("prometheus-blackbox-exporter", ["--config.file=blackbox.yml", "--config.check"], writeTree({ "blackbox.yml": content }));
        const ok = check(renderBlackboxConfig());
        assert.equal(ok.status, 0, ok.output);
        assert.match(ok.output, /Config file is ok/);
        assert.notEqual(check(renderBlackboxConfig().replace("follow_redirects", "follow_redirect")).status, 0);
    });

    test("defines the two modules the probe jobs use, over IPv4", () => {
        const doc = parse(renderBlackboxConfig()) as { modules: Record<string, { prober: string; http?: object; tcp?: object }> };
        assert.equal(doc.modules.http_2xx.prober, "http");
        assert.equal(doc.modules.tcp_connect.prober, "tcp");
        assert.deepEqual(doc.modules.tcp_connect.tcp, { preferred_ip_protocol: "ip4" });
    });
});

describe("loki config", () => {
    const doc = parse(renderLokiConfig("14d")) as {
        auth_enabled: boolean;
        common: { path_prefix: string; replication_factor: number; ring: { kvstore: { store: string } }; storage: Record<string, { chunks_directory: string }> };
        schema_config: { configs: { store: string; schema: string; object_store: string; index: { period: string } }[] };
        limits_config: { retention_period: string };
        compactor: { retention_enabled: boolean; delete_request_store?: string; working_directory: string };
    };

    test("is a single binary on the filesystem under /loki with a tsdb v13 schema and an in-memory ring", () => {
        assert.equal(doc.auth_enabled, false);
        assert.equal(doc.common.path_prefix, "/loki");
        assert.match(doc.common.storage.filesystem.chunks_directory, /^\/loki\//);
        assert.deepEqual(doc.schema_config.configs.map((c) => [c.store, c.schema, c.object_store, c.index.period]), [["tsdb", "v13", "filesystem", "24h"]]);
        assert.deepEqual([doc.common.replication_factor, doc.common.ring.kvstore.store], [1, "inmemory"]);
    });

    test("keeps logs for the configured retention, with the compactor under /loki", () => {
        assert.equal(doc.limits_config.retention_period, "14d");
        assert.equal(doc.compactor.retention_enabled, true);
        assert.match(doc.compactor.working_directory, /^\/loki\//);
    });

    // Loki 3 refuses to start with retention enabled and no delete_request_store
    // ("compactor.delete-request-store should be configured when retention is enabled").
    test("retention names the store for delete requests: the object store the schema and common storage use", () => {
        const store = doc.compactor.delete_request_store;
        assert.ok(store !== undefined, "compactor.delete_request_store is set");
        assert.ok(doc.schema_config.configs.every((c) => c.object_store === store), `schema object_store is ${store}`);
        assert.ok(store in doc.common.storage, `common.storage configures ${store}`);
    });
});

describe("Loki healthcheck", () => {
    const probe = (image: string) => {
        const check = lokiHealthcheck(image, 3100);
        return "test" in check ? check.test.join(" ") : `none: ${check.none}`;
    };

    test("the pinned image probes /ready with busybox wget (Loki up to 3.5 is distroless with busybox)", () => {
        assert.equal(probe(defaultImages.loki), "CMD wget -q -O /dev/null http://localhost:3100/ready");
    });

    test("3.6 dropped busybox and has no check to run; 3.7 and later run loki -health; an unreadable version gets none", () => {
        assert.match(probe("grafana/loki:3.6.3"), /^none: Loki 3\.6 ships no shell/);
        assert.equal(probe("grafana/loki:3.7.2"), "CMD /usr/bin/loki -health");
        assert.equal(probe("registry.example.com:5000/grafana/loki:4.0.0"), "CMD /usr/bin/loki -health");
        assert.match(probe(`grafana/loki@sha256:${"a".repeat(64)}`), /^none: cannot tell/);
        assert.equal(probe("grafana/loki:3.4.1"), "CMD wget -q -O /dev/null http://localhost:3100/ready");
    });
});

describe("Alloy config", () => {
    const serviceLabel = `${platformLabel}.service`;
    const rendered = renderAlloyConfig({ machine: "kratos", serviceLabel, lokiPushUrl: "http://192.168.10.31:3100/loki/api/v1/push" });

    test("uses only components, arguments and blocks Alloy v1.11 documents, with every required one, and references that resolve", () => {
        const blocks = parseAlloy(rendered);
        assert.deepEqual(alloyProblems(blocks), []);
        assert.deepEqual(blocks.map((b) => b.component), ["logging", "discovery.docker", "discovery.relabel", "loki.source.docker", "loki.write"]);
    });

    test("the schema check fails on a misspelled argument and on a dangling reference", () => {
        assert.match(alloyProblems(parseAlloy(rendered.replace("forward_to", "forward"))).join("\n"), /unknown argument forward[\s\S]*missing forward_to/);
        assert.match(alloyProblems(parseAlloy(rendered.replace("loki.write.platform.receiver", "loki.write.default.receiver"))).join("\n"), /names no declared component/);
        assert.match(alloyProblems(parseAlloy(rendered.replace("discovery.relabel.containers.rules", "discovery.relabel.containers.targets"))).join("\n"), /exports no targets/);
    });

    test("discovers containers through the Docker socket and ships their logs to the Loki push URL", () => {
        assert.match(rendered, /discovery\.docker "containers" \{\s+host\s+= "unix:\/\/\/var\/run\/docker\.sock"/);
        assert.match(rendered, /loki\.source\.docker "containers" \{[^}]*host\s+= "unix:\/\/\/var\/run\/docker\.sock"/);
        assert.match(rendered, /loki\.write "platform" \{\s+endpoint \{\s+url = "http:\/\/192\.168\.10\.31:3100\/loki\/api\/v1\/push"/);
    });

    test("labels every line with the machine, and with the service from the label the container builder sets", () => {
        assert.match(rendered, /labels\s+= \{ machine = "kratos" \}/);
        // Prometheus's Docker discovery turns `ai-platform.service` into ..._label_ai_platform_service.
        assert.equal(dockerLabelMeta(serviceLabel), "__meta_docker_container_label_ai_platform_service");
        assert.match(rendered, /source_labels = \["__meta_docker_container_label_ai_platform_service"\]\s+target_label\s+= "service"/);
    });

    test("without a Loki, nothing is shipped and the config is still valid", () => {
        const alone = renderAlloyConfig({ machine: "kratos", serviceLabel });
        assert.doesNotMatch(alone, /loki\.write|loki\.source/);
        assert.deepEqual(alloyProblems(parseAlloy(alone)), []);
    });
});

describe("Grafana provisioning", () => {
    test("provisions Prometheus (default) and Loki with the uids the dashboards use", () => {
        const doc = parse(renderDatasources({ prometheus: "http://prometheus:9090", loki: "http://loki:3100" })) as {
            datasources: { type: string; uid: string; url: string; isDefault?: boolean }[];
        };
        assert.deepEqual(
            doc.datasources.map((d) => [d.type, d.uid, d.url, d.isDefault ?? false]),
            [
                ["prometheus", datasourceUids.prometheus, "http://prometheus:9090", true],
                ["loki", datasourceUids.loki, "http://loki:3100", false],
            ],
        );
    });

    // Field lists from Grafana's docs/sources/administration/provisioning/index.md (data sources and dashboards).
    test("uses only the documented provisioning fields, with the required ones and a single default data source", () => {
        const datasourceFields = ["name", "type", "access", "orgId", "uid", "url", "user", "database", "basicAuth", "basicAuthUser", "withCredentials", "isDefault", "jsonData", "secureJsonData", "version", "editable"];
        const datasources = parse(renderDatasources({ prometheus: "http://p:9090", loki: "http://l:3100" })) as { apiVersion: number; datasources: Record<string, unknown>[] };
        assert.equal(datasources.apiVersion, 1);
        for (const datasource of datasources.datasources) {
            assert.deepEqual(Object.keys(datasource).filter((key) => !datasourceFields.includes(key)), [], String(datasource.name));
            for (const required of ["name", "type", "access"]) assert.ok(required in datasource, `${String(datasource.name)} has ${required}`);
        }
        assert.equal(datasources.datasources.filter((d) => d.isDefault === true).length, 1);
        const providerFields = ["name", "orgId", "folder", "folderUid", "type", "disableDeletion", "updateIntervalSeconds", "allowUiUpdates", "options"];
        const provider = parse(renderDashboardProvider()) as { apiVersion: number; providers: { options: Record<string, unknown> }[] };
        assert.equal(provider.apiVersion, 1);
        for (const entry of provider.providers) {
            assert.deepEqual(Object.keys(entry).filter((key) => !providerFields.includes(key)), []);
            assert.deepEqual(Object.keys(entry.options).filter((key) => !["path", "foldersFromFilesStructure"].includes(key)), []);
        }
    });

    test("the dashboard provider reads the directory the dashboards are written to", () => {
        const doc = parse(renderDashboardProvider()) as { providers: { type: string; options: { path: string } }[] };
        assert.deepEqual(doc.providers.map((p) => [p.type, p.options.path]), [["file", grafanaPaths.dashboards]]);
    });

    test("dashboards: overview, GPUs, LLM gateway and PostgreSQL replication, as valid JSON with queries on provisioned datasources", () => {
        assert.deepEqual(dashboards.map((d) => d.title), ["Platform overview", "GPUs", "LLM gateway", "PostgreSQL replication"]);
        const uids = new Set<string>();
        for (const dashboard of dashboards) {
            const json = JSON.parse(dashboardJson(dashboard)) as { uid: string; panels: { id: number; gridPos: { x: number; w: number }; datasource: { uid: string }; targets: { expr: string }[] }[] };
            uids.add(json.uid);
            assert.ok(json.panels.length > 0, dashboard.title);
            for (const panel of json.panels) {
                assert.ok(Object.values(datasourceUids).includes(panel.datasource.uid as never), dashboard.title);
                assert.ok(panel.targets.length > 0 && panel.targets.every((t) => t.expr.length > 0), dashboard.title);
                assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${dashboard.title} panel ${panel.id} fits the grid`);
            }
        }
        assert.equal(uids.size, dashboards.length);
    });

    test("every Prometheus query of the dashboards is valid PromQL (promtool parses them as recording rules)", () => {
        const exprs = dashboards.flatMap((d) => d.panels.filter((p) => p.type !== "logs").flatMap((p) => p.queries.map((q) => q.expr)));
        const rules = stringify({ groups: [{ name: "dashboards", rules: exprs.map((expr, i) => ({ record: `dashboard_query_${i}`, expr })) }] });
        const result = runTool("promtool", ["check", "rules", "dashboards.yml"], writeTree({ "dashboards.yml": rules }));
        assert.equal(result.status, 0, result.output);
        assert.match(result.output, new RegExp(`${exprs.length} rules found`));
    });

    test("the GPU dashboard shows both vendors' metrics, the replication dashboard the exporter's lag", () => {
        const gpus = dashboardJson(dashboards[1]);
        assert.match(gpus, /DCGM_FI_DEV_GPU_TEMP/);
        assert.match(gpus, /gpu_junction_temperature/);
        assert.match(dashboardJson(dashboards[3]), /pg_stat_replication_pg_wal_lsn_diff/);
    });
});
