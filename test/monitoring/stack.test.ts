import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { generatedSecretMarker, ofType, plainStrings, ProgramRun, readStackConfig, RegisteredResource, runProgram, types } from "../harness/program";
import { defaultImages, ImageKey } from "../../config/images";
import { homelab, withDisabled } from "./render";

type Upload = { file: string; content: string };
type Label = { label: string; value: string };

const machineNames = Object.keys(homelab.machines as object).sort();
const webhookUrl = "https://hooks.example.com/services/T0/B0/very-secret-token";
const receiverSecrets = {
    slack: "https://hooks.slack.com/services/T0/B0/slack-very-secret",
    telegram: "123456:telegram-very-secret",
    smtp: "smtp-very-secret",
    ntfy: "https://ntfy.sh/ntfy-very-secret-topic",
    ntfyToken: "tk_ntfyverysecret",
};
const alerts = [
    { type: "slack", url: receiverSecrets.slack },
    { type: "telegram", botToken: receiverSecrets.telegram, chatId: 42, severities: ["critical"] },
    { type: "email", to: "oncall@example.com", from: "lab@example.com", smarthost: "smtp.example.com:587", username: "lab", password: receiverSecrets.smtp },
    { type: "ntfy", url: receiverSecrets.ntfy, token: receiverSecrets.ntfyToken },
];
const everySecret = [webhookUrl, ...Object.values(receiverSecrets)];

/** Whether an upload's content reaches the engine as a secret (the engine receives a list holding any secret as one secret). */
function isSecretUpload(resource: RegisteredResource, file: string): boolean {
    const raw = resource.rawInputs.uploads;
    if (plainStrings(raw).length === 0) return true;
    const entry = (raw as { file: string; content: unknown }[]).find((u) => u.file === file);
    assert.ok(entry, `${resource.name} uploads ${file}`);
    return plainStrings(entry.content).length === 0;
}

function container(run: ProgramRun, name: string): RegisteredResource {
    const found = ofType(run, types.container).find((c) => c.name === name);
    assert.ok(found, `container ${name}`);
    return found;
}

function uploads(resource: RegisteredResource): Upload[] {
    return (resource.inputs.uploads as Upload[] | undefined) ?? [];
}

function upload(resource: RegisteredResource, file: string): string {
    const found = uploads(resource).find((u) => u.file === file);
    assert.ok(found, `${resource.name} uploads ${file}: ${uploads(resource).map((u) => u.file).join(", ")}`);
    return found.content;
}

function env(resource: RegisteredResource): Record<string, string> {
    return Object.fromEntries(((resource.inputs.envs as string[] | undefined) ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

function hostsOf(run: ProgramRun, service: string): string[] {
    return ofType(run, types.container)
        .filter((c) => ((c.inputs.labels as Label[]) ?? []).some((l) => l.label === "ai-platform.service" && l.value === service))
        .map((c) => c.name.slice(0, -service.length - 1))
        .sort();
}

const stackServices = ["prometheus", "alertmanager", "blackbox-exporter", "loki", "grafana"];

describe("monitoring on the homelab stack under mocks", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram({ ...homelab, monitoring: { retention: "45d", alerts, alertWebhookUrl: webhookUrl } }, { secretKeys: ["monitoring"] });
        assert.equal(run.error, undefined, run.error?.message);
    });

    test("runs the monitoring stack on moros only, under the moros-monitoring component", () => {
        for (const service of stackServices) {
            assert.deepEqual(hostsOf(run, service), ["moros"], service);
            assert.equal(container(run, `moros-${service}`).parent, "moros-monitoring");
        }
        const component = run.resources.find((r) => r.type === "ai-platform:monitoring:Monitoring");
        assert.equal(component?.name, "moros-monitoring");
        assert.equal(component?.parent, "moros");
    });

    test("links in alerts and UIs point at the edge's routes", () => {
        assert.ok((container(run, "moros-prometheus").inputs.command as string[]).includes("--web.external-url=https://prometheus.lab.internal/"));
        assert.ok((container(run, "moros-alertmanager").inputs.command as string[]).includes("--web.external-url=https://alertmanager.lab.internal/"));
    });

    test("answers on moros's LAN address only, on the seed's ports: Prometheus 9090, Grafana 3001", () => {
        const ports = (name: string) => (container(run, name).inputs.ports as { internal: number; external: number; ip: string }[]).map((p) => [p.internal, p.external, p.ip]);
        assert.deepEqual(ports("moros-alertmanager"), [[9093, 9093, "192.168.10.31"]]);
        assert.deepEqual(ports("moros-loki"), [[3100, 3100, "192.168.10.31"]]);
        const prometheus = container(run, "moros-prometheus");
        assert.equal(prometheus.inputs.networkMode, "host");
        assert.ok((prometheus.inputs.command as string[]).includes("--web.listen-address=192.168.10.31:9090"));
        const blackbox = container(run, "moros-blackbox-exporter");
        assert.ok((blackbox.inputs.command as string[]).includes("--web.listen-address=192.168.10.31:9115"));
        const grafana = env(container(run, "moros-grafana"));
        assert.deepEqual([grafana.GF_SERVER_HTTP_ADDR, grafana.GF_SERVER_HTTP_PORT], ["192.168.10.31", "3001"]);
    });

    test("Prometheus keeps data on a local volume for the configured retention, without the lifecycle API, and scrapes every machine", () => {
        const prometheus = container(run, "moros-prometheus");
        const command = prometheus.inputs.command as string[];
        assert.ok(command.includes("--storage.tsdb.retention.time=45d"), command.join(" "));
        // POST /-/quit from anyone on the LAN would stop it; a changed config replaces the container instead.
        assert.ok(!command.some((flag) => flag.startsWith("--web.enable-lifecycle")), command.join(" "));
        assert.deepEqual((prometheus.inputs.volumes as { containerPath: string; volumeName: string }[]).map((v) => [v.containerPath, v.volumeName]), [["/prometheus", "ai-prometheus-data"]]);
        const volume = ofType(run, types.volume).find((v) => v.name === "moros-prometheus-data");
        assert.equal(volume?.inputs.driver, "local");
        const config = parse(upload(prometheus, "/etc/prometheus/prometheus.yml")) as { scrape_configs: { job_name: string; static_configs: { labels: { machine: string } }[] }[] };
        const nodeJob = config.scrape_configs.find((j) => j.job_name === "node-exporter");
        assert.deepEqual(nodeJob?.static_configs.map((g) => g.labels.machine).sort(), machineNames);
        assert.match(upload(prometheus, "/etc/prometheus/rules/platform.yml"), /alert: InstanceDown/);
    });

    test("Alertmanager: every receiver in an alertmanager.yml without secrets that names them as files, each file a secret upload", () => {
        const alertmanager = container(run, "moros-alertmanager");
        const text = upload(alertmanager, "/etc/alertmanager/alertmanager.yml");
        for (const secret of everySecret) assert.ok(!text.includes(secret), "alertmanager.yml holds a secret");
        const config = parse(text) as { receivers: ({ name: string } & Record<string, Record<string, unknown>[]>)[] };
        const critical = config.receivers.find((r) => r.name === "critical");
        const warning = config.receivers.find((r) => r.name === "warning");
        assert.deepEqual(Object.keys(critical ?? {}).sort(), ["email_configs", "name", "slack_configs", "telegram_configs", "webhook_configs"]);
        assert.deepEqual(Object.keys(warning ?? {}).sort(), ["email_configs", "name", "slack_configs", "webhook_configs"], "telegram takes critical only");
        assert.equal(critical?.webhook_configs.length, 2, "ntfy and the legacy alertWebhookUrl");
        const files: Record<string, string> = {
            "/etc/alertmanager/secrets/0-slack-url": receiverSecrets.slack,
            "/etc/alertmanager/secrets/1-telegram-bot-token": receiverSecrets.telegram,
            "/etc/alertmanager/secrets/2-email-password": receiverSecrets.smtp,
            "/etc/alertmanager/secrets/3-ntfy-url-critical": `${receiverSecrets.ntfy}?template=alertmanager&priority=urgent`,
            "/etc/alertmanager/secrets/3-ntfy-url-warning": `${receiverSecrets.ntfy}?template=alertmanager&priority=default`,
            "/etc/alertmanager/secrets/3-ntfy-token": receiverSecrets.ntfyToken,
            "/etc/alertmanager/secrets/4-webhook-url": webhookUrl,
        };
        for (const [file, content] of Object.entries(files)) {
            assert.equal(upload(alertmanager, file), content, file);
            assert.ok(isSecretUpload(alertmanager, file), `${file} is a secret upload`);
            assert.ok(text.includes(file), `alertmanager.yml names ${file}`);
        }
        assert.deepEqual(uploads(alertmanager).map((u) => u.file).filter((f) => f.startsWith("/etc/alertmanager/secrets/")).sort(), Object.keys(files).sort());
    });

    test("Grafana: admin password and database password as secret files, database on the primary, no anonymous access", () => {
        const grafana = container(run, "moros-grafana");
        const vars = env(grafana);
        assert.equal(vars.GF_SECURITY_ADMIN_PASSWORD__FILE, "/run/secrets/grafana-admin-password");
        assert.equal(vars.GF_DATABASE_PASSWORD__FILE, "/run/secrets/grafana-database-password");
        assert.equal(vars.GF_AUTH_ANONYMOUS_ENABLED, "false");
        assert.equal(vars.GF_DATABASE_TYPE, "postgres");
        assert.equal(vars.GF_DATABASE_HOST, "192.168.10.11:5432");
        assert.equal(vars.GF_DATABASE_NAME, "grafana");
        assert.match(upload(grafana, "/run/secrets/grafana-admin-password"), new RegExp(`^${generatedSecretMarker}platform-grafana-admin`));
        assert.match(upload(grafana, "/run/secrets/grafana-database-password"), new RegExp(`^${generatedSecretMarker}platform-postgres-grafana`));
        // The wrapper that sets the admin password from its file on every start, then runs the image's /run.sh.
        assert.deepEqual([grafana.inputs.entrypoints, grafana.inputs.command], [["/usr/local/bin/ai-platform-grafana-entrypoint.sh"], ["/run.sh"]]);
        assert.match(upload(grafana, "/usr/local/bin/ai-platform-grafana-entrypoint.sh"), /reset-admin-password --password-from-stdin/);
    });

    test("Grafana is provisioned with both datasources and the four dashboards", () => {
        const grafana = container(run, "moros-grafana");
        const datasources = parse(upload(grafana, "/etc/grafana/provisioning/datasources/platform.yml")) as { datasources: { url: string }[] };
        assert.deepEqual(datasources.datasources.map((d) => d.url), ["http://192.168.10.31:9090", "http://192.168.10.31:3100"]);
        upload(grafana, "/etc/grafana/provisioning/dashboards/platform.yml");
        const dashboards = uploads(grafana).filter((u) => u.file.startsWith("/etc/grafana/dashboards/")).map((u) => (JSON.parse(u.content) as { title: string }).title);
        assert.deepEqual(dashboards.sort(), ["GPUs", "LLM gateway", "Platform overview", "PostgreSQL replication"]);
    });

    test("what reaches out (Prometheus, blackbox, Grafana) is on the host network; what only answers (Loki, Alertmanager) on the frontend bridge", () => {
        for (const service of ["prometheus", "blackbox-exporter", "grafana"]) assert.equal(container(run, `moros-${service}`).inputs.networkMode, "host", service);
        for (const service of ["loki", "alertmanager"]) {
            assert.deepEqual(container(run, `moros-${service}`).inputs.networksAdvanced, [{ name: "ai-frontend" }], service);
        }
        const prometheusConfig = parse(upload(container(run, "moros-prometheus"), "/etc/prometheus/prometheus.yml")) as { alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] } };
        assert.deepEqual(prometheusConfig.alerting.alertmanagers[0].static_configs[0].targets, ["192.168.10.31:9093"]);
    });

    test("every monitoring container has a healthcheck its image can run", () => {
        const expected: Record<string, RegExp> = {
            "moros-prometheus": /^CMD wget .*http:\/\/192\.168\.10\.31:9090\/-\/healthy$/,
            "moros-alertmanager": /^CMD wget .*http:\/\/localhost:9093\/-\/healthy$/,
            "moros-blackbox-exporter": /^CMD wget .*http:\/\/192\.168\.10\.31:9115\/-\/healthy$/,
            "moros-loki": /^CMD wget .*http:\/\/localhost:3100\/ready$/,
            "moros-grafana": /^CMD wget .*http:\/\/192\.168\.10\.31:3001\/api\/health$/,
        };
        for (const [name, pattern] of Object.entries(expected)) {
            const health = container(run, name).inputs.healthcheck as { tests: string[] };
            assert.match(health.tests.join(" "), pattern, name);
        }
    });

    test("each healthcheck runs a program its pinned image ships (busybox/Alpine wget, curl, or bash)", () => {
        // Upstream Dockerfiles: the prom/* and node-exporter images are FROM quay.io/prometheus/busybox;
        // grafana/grafana is Alpine; grafana/loki up to 3.5 is distroless static:debug with busybox on the
        // PATH (lokiHealthcheck follows the later versions); cAdvisor is Alpine;
        // willfarrell/autoheal is Alpine with curl; grafana/alloy is Ubuntu with bash and no HTTP client;
        // dcgm-exporter is Ubuntu; the AMD exporter is UBI minimal (bash).
        const programs: Record<string, string[]> = {
            "prom/prometheus": ["wget"],
            "prom/alertmanager": ["wget"],
            "prom/blackbox-exporter": ["wget"],
            "quay.io/prometheus/node-exporter": ["wget"],
            "grafana/grafana": ["wget"],
            "grafana/loki": ["wget"],
            "ghcr.io/google/cadvisor": ["wget"],
            "willfarrell/autoheal": ["curl"],
            "grafana/alloy": ["bash"],
            "nvcr.io/nvidia/k8s/dcgm-exporter": ["bash"],
            "rocm/device-metrics-exporter": ["bash"],
        };
        const imageOf: Record<string, ImageKey> = {
            prometheus: "prometheus",
            alertmanager: "alertmanager",
            "blackbox-exporter": "blackboxExporter",
            loki: "loki",
            grafana: "grafana",
            "node-exporter": "nodeExporter",
            cadvisor: "cadvisor",
            autoheal: "autoheal",
            alloy: "alloy",
            "dcgm-exporter": "dcgmExporter",
            "amd-exporter": "amdExporter",
        };
        const checked = new Set<string>();
        for (const resource of ofType(run, types.container)) {
            const service = ((resource.inputs.labels as Label[]) ?? []).find((l) => l.label === "ai-platform.service")?.value ?? "";
            if (!(service in imageOf)) continue;
            const reference = defaultImages[imageOf[service]];
            const repository = reference.slice(0, reference.lastIndexOf(":"));
            const test = (resource.inputs.healthcheck as { tests: string[] }).tests;
            assert.equal(test[0], "CMD", resource.name);
            assert.ok(programs[repository].includes(test[1]), `${resource.name}: ${test[1]} is not in ${reference}`);
            checked.add(service);
        }
        assert.deepEqual([...checked].sort(), Object.keys(imageOf).sort());
    });

    test("Alloy runs on every enabled machine and ships to Loki on moros, labelled with its machine", () => {
        assert.deepEqual(hostsOf(run, "alloy"), machineNames);
        for (const machine of machineNames) {
            const alloy = container(run, `${machine}-alloy`);
            assert.equal(alloy.parent, machine);
            const config = upload(alloy, "/etc/alloy/config.alloy");
            assert.match(config, /url = "http:\/\/192\.168\.10\.31:3100\/loki\/api\/v1\/push"/);
            assert.match(config, new RegExp(`machine = "${machine}"`));
            const volumes = alloy.inputs.volumes as { containerPath: string; hostPath?: string; readOnly: boolean }[];
            assert.ok(volumes.some((v) => v.hostPath === "/var/run/docker.sock" && v.readOnly));
            assert.equal(alloy.inputs.networkMode, "host");
            const address = (homelab.machines as Record<string, { address: string }>)[machine].address;
            assert.ok((alloy.inputs.command as string[]).includes(`--server.http.listen-addr=${address}:12345`));
            assert.match((alloy.inputs.healthcheck as { tests: string[] }).tests.join(" "), new RegExp(`^CMD bash -c exec 3<>/dev/tcp/${address}/12345 .*GET /-/ready`));
        }
    });

    test("dcgm-exporter on the NVIDIA machines with their GPUs, the AMD exporter on hades with /dev/kfd and /dev/dri", () => {
        assert.deepEqual(hostsOf(run, "dcgm-exporter"), ["kratos", "nyx", "orpheus"]);
        assert.deepEqual(hostsOf(run, "amd-exporter"), ["hades"]);
        for (const machine of ["kratos", "nyx", "orpheus"]) assert.equal(container(run, `${machine}-dcgm-exporter`).inputs.gpus, "all");
        const amd = container(run, "hades-amd-exporter");
        assert.deepEqual((amd.inputs.devices as { hostPath: string }[]).map((d) => d.hostPath), ["/dev/kfd", "/dev/dri"]);
        assert.deepEqual((amd.inputs.ports as { external: number; ip: string }[]).map((p) => [p.external, p.ip]), [[5000, "192.168.10.24"]]);
    });

    test("secrets appear only inside secret uploads or secret env: the webhook URL and the generated passwords", () => {
        for (const resource of run.resources) {
            for (const value of plainStrings(resource.rawInputs)) {
                for (const secret of everySecret) assert.ok(!value.includes(secret), `${resource.name} holds a receiver's secret in plain text`);
                assert.ok(!value.includes(generatedSecretMarker), `${resource.name} holds a generated secret in plain text`);
            }
        }
        for (const [name, value] of Object.entries(run.outputs)) {
            if (!run.secretOutputs.has(name)) for (const secret of everySecret) assert.ok(!JSON.stringify(value ?? "").includes(secret), `output ${name}`);
        }
    });

    test("the outputs point at Grafana and Prometheus on moros, as plain values", () => {
        assert.equal(run.outputs.grafanaUrl, "http://192.168.10.31:3001");
        assert.equal(run.outputs.prometheusUrl, "http://192.168.10.31:9090");
        assert.ok(!run.secretOutputs.has("grafanaUrl") && !run.secretOutputs.has("prometheusUrl"));
    });
});

describe("monitoring with defaults and a disabled machine", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(withDisabled("kratos"));
        assert.equal(run.error, undefined, run.error?.message);
    });

    test("the disabled machine runs no agent and is neither scraped nor probed", () => {
        assert.deepEqual(hostsOf(run, "alloy"), machineNames.filter((m) => m !== "kratos"));
        assert.deepEqual(hostsOf(run, "dcgm-exporter"), ["nyx", "orpheus"]);
        const prometheusConfig = upload(container(run, "moros-prometheus"), "/etc/prometheus/prometheus.yml");
        assert.doesNotMatch(prometheusConfig, /192\.168\.10\.22|kratos/);
    });

    test("without receivers, Alertmanager keeps alerts in its UI and sends nothing; no secret file", () => {
        const alertmanager = container(run, "moros-alertmanager");
        const config = parse(upload(alertmanager, "/etc/alertmanager/alertmanager.yml")) as { route: { receiver: string }; receivers: unknown[] };
        assert.equal(config.route.receiver, "critical");
        assert.deepEqual(config.receivers, [{ name: "critical" }, { name: "warning" }]);
        assert.deepEqual(uploads(alertmanager).map((u) => u.file), ["/etc/alertmanager/alertmanager.yml"]);
        assert.ok((container(run, "moros-prometheus").inputs.command as string[]).includes("--storage.tsdb.retention.time=30d"));
    });
});

describe("monitoring on the single-host local stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram(readStackConfig("Pulumi.local.yaml"));
        assert.equal(run.error, undefined, run.error?.message);
    });

    test("Prometheus, Grafana and Alloy reach 127.0.0.1 targets from the host network; Grafana on its overridden port", () => {
        for (const name of ["local-prometheus", "local-blackbox-exporter", "local-grafana", "local-alloy"]) assert.equal(container(run, name).inputs.networkMode, "host", name);
        assert.equal(env(container(run, "local-grafana")).GF_SERVER_HTTP_PORT, "3002");
        assert.equal(env(container(run, "local-grafana")).GF_DATABASE_HOST, "127.0.0.1:5432", "on the host network, the database's LAN address is reachable");
        assert.match(upload(container(run, "local-alloy"), "/etc/alloy/config.alloy"), /url = "http:\/\/127\.0\.0\.1:3100\/loki\/api\/v1\/push"/);
        assert.equal(run.outputs.grafanaUrl, "http://127.0.0.1:3002");
    });
});

describe("monitoring with an Alertmanager image older than 0.27 (no *_file for every receiver)", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram({ ...homelab, images: { alertmanager: "prom/alertmanager:v0.25.0" }, monitoring: { alerts } }, { secretKeys: ["monitoring"] });
        assert.equal(run.error, undefined, run.error?.message);
    });

    test("the secrets are inline, so the whole alertmanager.yml is a secret upload, and nothing else is uploaded", () => {
        const alertmanager = container(run, "moros-alertmanager");
        assert.ok(isSecretUpload(alertmanager, "/etc/alertmanager/alertmanager.yml"));
        assert.deepEqual(uploads(alertmanager).map((u) => u.file), ["/etc/alertmanager/alertmanager.yml"]);
        const text = upload(alertmanager, "/etc/alertmanager/alertmanager.yml");
        assert.ok(text.includes(receiverSecrets.telegram) && !text.includes("_file"));
        for (const resource of run.resources) {
            for (const value of plainStrings(resource.rawInputs)) for (const secret of everySecret) assert.ok(!value.includes(secret), resource.name);
        }
    });
});
