import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { alertmanagerSecretFiles, credentialFilesSupported, renderAlertmanagerConfig } from "../../components/monitoring/alertmanager";
import { platformLabel } from "../../components/container/spec";
import { dockerLabelMeta, renderAlloyConfig } from "../../components/monitoring/alloy";
import { renderBlackboxConfig } from "../../components/monitoring/blackbox";
import { dashboardJson, dashboards } from "../../components/monitoring/dashboards";
import { datasourceUids, grafanaPaths, renderDashboardProvider, renderDatasources } from "../../components/monitoring/grafana";
import { lokiHealthcheck, renderLokiConfig } from "../../components/monitoring/loki";
import { defaultImages } from "../../config/images";
import { validatePlatform } from "../../config/platform";
import { alertmanager028 } from "./alertmanager-process";
import { alloyProblems, parseAlloy } from "./alloy-components";
import { homelab, runTool, writeTree } from "./render";

const amtool028 = path.join(path.dirname(alertmanager028), "amtool");
const routing = { groupWait: "30s", groupInterval: "5m", repeatInterval: "4h" };

interface Route {
    receiver: string;
    group_wait: string;
    group_interval: string;
    repeat_interval: string;
    routes: { receiver: string; matchers: string[] }[];
}
type Receiver = { name: string } & Record<string, Record<string, unknown>[] | string>;

/** Every receiver type, through the config schema, with its secrets apart. */
function everyType() {
    const result = validatePlatform({
        ...homelab,
        monitoring: {
            alerts: [
                { type: "slack", url: "https://hooks.slack.com/services/T0/B0/slack-secret" },
                { type: "discord", url: "https://discord.com/api/webhooks/1/discord-secret", severities: ["critical"] },
                { type: "telegram", botToken: "123:telegram-secret", chatId: -100, severities: ["warning"] },
                { type: "email", to: "a@example.com", from: "b@example.com", smarthost: "smtp.example.com:587", username: "b", password: "smtp-secret" },
                { type: "ntfy", url: "https://ntfy.sh/ntfy-secret-topic", token: "tk_ntfysecret" },
                { type: "webhook", url: "https://example.com/webhook-secret" },
            ],
        },
    });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    return { receivers: result.config.monitoring.alerts, credentials: result.secrets.alertCredentials };
}
const secretValues = ["slack-secret", "discord-secret", "telegram-secret", "smtp-secret", "ntfy-secret-topic", "tk_ntfysecret", "webhook-secret"];

/** `amtool config routes test`: the receiver an alert with these labels goes to. */
function routeOf(file: string, labels: string[]): string {
    const result = spawnSync("amtool", ["config", "routes", "test", `--config.file=${file}`, ...labels], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.trim();
}

describe("alertmanager.yml", () => {
    test("without receivers: amtool accepts it; critical and warning receivers exist and send nowhere", () => {
        const rendered = renderAlertmanagerConfig([], routing, { files: "/etc/alertmanager/secrets" });
        const result = runTool("amtool", ["check-config", "alertmanager.yml"], writeTree({ "alertmanager.yml": rendered }));
        assert.equal(result.status, 0, result.output);
        const doc = parse(rendered) as { route: Route; receivers: Receiver[] };
        assert.deepEqual(doc.receivers, [{ name: "critical" }, { name: "warning" }]);
    });

    test("routes warning alerts to the warning receiver and every other alert, unlabelled too, to critical (amtool config routes test)", () => {
        const file = path.join(writeTree({ "alertmanager.yml": renderAlertmanagerConfig([], routing, { files: "/s" }) }), "alertmanager.yml");
        assert.equal(routeOf(file, ["severity=warning", "alertname=DiskNearlyFull"]), "warning");
        assert.equal(routeOf(file, ["severity=critical", "alertname=InstanceDown"]), "critical");
        assert.equal(routeOf(file, ["alertname=Unlabelled"]), "critical");
    });

    test("grouping and repeat intervals come from monitoring.routing", () => {
        const doc = parse(renderAlertmanagerConfig([], { groupWait: "1m", groupInterval: "10m", repeatInterval: "1d" }, { files: "/s" })) as { route: Route };
        assert.deepEqual([doc.route.group_wait, doc.route.group_interval, doc.route.repeat_interval], ["1m", "10m", "1d"]);
    });

    test("secrets inline: Debian's amtool (0.25) accepts every receiver type; each entry sits in the receivers of its severities", () => {
        const { receivers, credentials } = everyType();
        const rendered = renderAlertmanagerConfig(receivers, routing, { inline: credentials });
        const result = runTool("amtool", ["check-config", "alertmanager.yml"], writeTree({ "alertmanager.yml": rendered }));
        assert.equal(result.status, 0, result.output);
        const doc = parse(rendered) as { receivers: Receiver[] };
        const kinds = (name: string) => Object.keys(doc.receivers.find((r) => r.name === name) ?? {}).filter((k) => k !== "name").sort();
        assert.deepEqual(kinds("critical"), ["discord_configs", "email_configs", "slack_configs", "webhook_configs"]);
        assert.deepEqual(kinds("warning"), ["email_configs", "slack_configs", "telegram_configs", "webhook_configs"]);
        const ntfy = (name: string) => (doc.receivers.find((r) => r.name === name)?.webhook_configs as { url: string }[]).map((w) => w.url).filter((u) => u.includes("ntfy"));
        assert.deepEqual(ntfy("critical"), ["https://ntfy.sh/ntfy-secret-topic?template=alertmanager&priority=urgent"]);
        assert.deepEqual(ntfy("warning"), ["https://ntfy.sh/ntfy-secret-topic?template=alertmanager&priority=default"]);
    });

    test("secrets as files: the config holds none, names one file per secret, and Alertmanager 0.28's amtool accepts it", () => {
        assert.ok(fs.existsSync(amtool028), `no ${amtool028} (.ci/run builds it)`);
        const { receivers, credentials } = everyType();
        const rendered = renderAlertmanagerConfig(receivers, routing, { files: "/etc/alertmanager/secrets" });
        for (const value of secretValues) assert.ok(!rendered.includes(value), value);
        const files = alertmanagerSecretFiles(receivers, "/etc/alertmanager/secrets");
        assert.deepEqual(files.map((f) => path.basename(f.path)), ["0-slack-url", "1-discord-url", "2-telegram-bot-token", "3-email-password", "4-ntfy-url-critical", "4-ntfy-token", "4-ntfy-url-warning", "5-webhook-url"]);
        for (const file of files) assert.ok(rendered.includes(file.path), file.path);
        assert.equal(files.find((f) => f.path.endsWith("4-ntfy-url-warning"))?.content(credentials[4]), "https://ntfy.sh/ntfy-secret-topic?template=alertmanager&priority=default");
        // amtool reads the files it names: write them where the config says, under a temp root.
        const dir = writeTree({});
        const local = renderAlertmanagerConfig(receivers, routing, { files: path.join(dir, "secrets") });
        fs.mkdirSync(path.join(dir, "secrets"));
        for (const file of alertmanagerSecretFiles(receivers, path.join(dir, "secrets"))) fs.writeFileSync(file.path, file.content(credentials[file.receiver]));
        fs.writeFileSync(path.join(dir, "alertmanager.yml"), local);
        const result = runTool(amtool028, ["check-config", "alertmanager.yml"], dir);
        assert.equal(result.status, 0, result.output);
        assert.notEqual(runTool("amtool", ["check-config", "alertmanager.yml"], dir).status, 0, "Debian's 0.25 does not know bot_token_file & co: why older images get them inline");
    });

    test("an entry without an optional secret gets no file and no option for it", () => {
        const result = validatePlatform({ ...homelab, monitoring: { alerts: [{ type: "ntfy", url: "https://ntfy.example.com/lab" }, { type: "email", to: "a@example.com", from: "b@example.com", smarthost: "mail:25", requireTls: false }] } });
        assert.ok(result.ok);
        const receivers = result.config.monitoring.alerts;
        assert.deepEqual(alertmanagerSecretFiles(receivers, "/s").map((f) => f.path), ["/s/0-ntfy-url-critical", "/s/0-ntfy-url-warning"]);
        const rendered = renderAlertmanagerConfig(receivers, routing, { files: "/s" });
        assert.doesNotMatch(rendered, /http_config|auth_password|auth_username/);
        const check = runTool("amtool", ["check-config", "alertmanager.yml"], writeTree({ "alertmanager.yml": renderAlertmanagerConfig(receivers, routing, { inline: result.secrets.alertCredentials }) }));
        assert.equal(check.status, 0, check.output);
    });

    test("the legacy monitoring.alertWebhookUrl is kept as the last webhook receiver, with a warning that says how to move it and not the URL", () => {
        const url = "https://bridge.example.com/alertmanager/legacy-secret";
        const result = validatePlatform({ ...homelab, monitoring: { alerts: [{ type: "discord", url: "https://discord.com/api/webhooks/1/x" }], alertWebhookUrl: url } });
        assert.ok(result.ok);
        assert.deepEqual(result.config.monitoring.alerts.map((a) => [a.type, a.severities]), [["discord", ["critical", "warning"]], ["webhook", ["critical", "warning"]]]);
        assert.deepEqual(result.secrets.alertCredentials[1], { url });
        assert.deepEqual(result.warnings.map((w) => w.path), ["monitoring.alertWebhookUrl"]);
        assert.match(result.warnings[0].message, /pulumi config set --secret --path 'monitoring\.alerts\[1\]\.url'/);
        assert.doesNotMatch(result.warnings[0].message, /legacy-secret/);
        assert.ok(!JSON.stringify(result.config).includes("legacy-secret"), "the validated config carries no secret");
    });

    test("amtool rejects a broken webhook URL (the check can fail)", () => {
        const receivers = [{ type: "webhook" as const, severities: ["critical" as const], sendResolved: true }];
        const result = runTool("amtool", ["check-config", "alertmanager.yml"], writeTree({ "alertmanager.yml": renderAlertmanagerConfig(receivers, routing, { inline: [{ url: "not a url" }] }) }));
        assert.notEqual(result.status, 0);
    });

    test("secret files where the image reads them (Alertmanager 0.27+, or a digest), inline for older tags", () => {
        assert.equal(credentialFilesSupported(defaultImages.alertmanager), true);
        assert.equal(credentialFilesSupported("prom/alertmanager:v0.27.0"), true);
        assert.equal(credentialFilesSupported("registry.example.com:5000/prom/alertmanager:v0.26.0"), false);
        assert.equal(credentialFilesSupported("prom/alertmanager:v0.25.0"), false);
        assert.equal(credentialFilesSupported(`prom/alertmanager@sha256:${"a".repeat(64)}`), true);
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
