import * as pulumi from "@pulumi/pulumi";
import { Machine } from "../../machines/machine";
import { ServicePort, serviceKinds } from "../../machines/services";
import { catalogEntry } from "../catalog/catalog";
import { ContainerSpec, Healthcheck } from "../container/spec";
import { machineWithRole, PlatformContext } from "../context";
import { databaseConnection } from "../postgres/connection";
import { alertmanagerPaths, alertmanagerSecretFiles, credentialFilesSupported, renderAlertmanagerConfig } from "./alertmanager";
import { blackboxPaths, renderBlackboxConfig } from "./blackbox";
import { dashboardJson, dashboards } from "./dashboards";
import { grafanaImageEntrypoint, grafanaPaths, renderDashboardProvider, renderDatasources, renderGrafanaEntrypoint } from "./grafana";
import { lokiHealthcheck, lokiPaths, renderLokiConfig } from "./loki";
import { prometheusPaths, renderPrometheusConfig } from "./prometheus";
import { renderAlertRules } from "./rules";

export interface MonitoringArgs {
    /** The platform: catalog (targets), placement (ports), config (retention), secrets. */
    readonly context: PlatformContext;
    /** The machine with the monitoring role; every container here runs on it. */
    readonly machine: Machine;
}

/** The services of the stack, all on the monitoring machine. */
type StackService = "prometheus" | "alertmanager" | "blackbox-exporter" | "loki" | "grafana";

/** wget against a service's health path at `host:port`: the Prometheus images have busybox, Grafana's is Alpine. */
function wgetCheck(service: Exclude<StackService, "loki">, hostPort: string): Healthcheck {
    return { test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://${hostPort}${serviceKinds[service].healthPath}`] };
}

/**
 * The monitoring stack on one machine: Prometheus (targets from the catalog), Alertmanager,
 * the blackbox exporter, Loki and Grafana (provisioned datasources and dashboards, its
 * database on the platform's PostgreSQL).
 *
 * Prometheus, the blackbox exporter and Grafana reach other services at their LAN addresses, so
 * they share the host's network, listening on the LAN address only: from a bridge network, a
 * LAN address of 127.0.0.1 (the local stack) would be the container itself. Loki and
 * Alertmanager only answer, so they stay on the frontend bridge with published ports.
 */
export class Monitoring extends pulumi.ComponentResource {
    /** Prometheus on the LAN. */
    public readonly prometheusUrl: string;
    /** Grafana on the LAN. */
    public readonly grafanaUrl: string;

    private readonly args: MonitoringArgs;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:monitoring:Monitoring", name, {}, opts);
        this.args = args;
        const { context } = args;
        const retention = context.config.monitoring.retention;

        this.run({
            name: "prometheus",
            image: context.config.images.prometheus,
            hostNetwork: true,
            files: [
                { path: prometheusPaths.config, content: renderPrometheusConfig(context.catalog, { alertmanager: this.lan("alertmanager"), blackbox: this.lan("blackbox-exporter") }) },
                { path: prometheusPaths.rules, content: renderAlertRules() },
            ],
            mounts: [{ containerPath: prometheusPaths.data, localVolume: "prometheus-data" }],
            command: [
                `--config.file=${prometheusPaths.config}`,
                `--storage.tsdb.path=${prometheusPaths.data}`,
                `--storage.tsdb.retention.time=${retention}`,
                // No --web.enable-lifecycle: nothing calls /-/reload (a changed config is a changed upload, which replaces
                // the container), and it would let anyone on the LAN stop Prometheus with POST /-/quit.
                `--web.listen-address=${this.lan("prometheus")}`,
                ...externalUrlFlag(context, "prometheus"),
            ],
            healthcheck: wgetCheck("prometheus", this.lan("prometheus")),
        });

        this.run({
            name: "alertmanager",
            image: context.config.images.alertmanager,
            ports: [this.port("alertmanager")],
            ...this.alertmanagerConfig(),
            mounts: [{ containerPath: alertmanagerPaths.data, localVolume: "alertmanager-data" }],
            command: [`--config.file=${alertmanagerPaths.config}`, `--storage.path=${alertmanagerPaths.data}`, "--cluster.listen-address=", ...externalUrlFlag(context, "alertmanager")],
            healthcheck: wgetCheck("alertmanager", `localhost:${this.port("alertmanager").internal}`),
        });

        this.run({
            name: "blackbox-exporter",
            image: context.config.images.blackboxExporter,
            hostNetwork: true,
            files: [{ path: blackboxPaths.config, content: renderBlackboxConfig() }],
            command: [`--config.file=${blackboxPaths.config}`, `--web.listen-address=${this.lan("blackbox-exporter")}`],
            healthcheck: wgetCheck("blackbox-exporter", this.lan("blackbox-exporter")),
        });

        this.run({
            name: "loki",
            image: context.config.images.loki,
            ports: [this.port("loki")],
            files: [{ path: lokiPaths.config, content: renderLokiConfig(retention) }],
            mounts: [{ containerPath: lokiPaths.data, localVolume: "loki-data" }],
            command: [`-config.file=${lokiPaths.config}`],
            healthcheck: lokiHealthcheck(context.config.images.loki, this.port("loki").internal),
        });

        this.run(this.grafana());

        this.prometheusUrl = `http://${this.lan("prometheus")}`;
        this.grafanaUrl = `http://${this.lan("grafana")}`;
        this.registerOutputs({ prometheusUrl: this.prometheusUrl, grafanaUrl: this.grafanaUrl });
    }

    /**
     * alertmanager.yml and the receivers' secrets. Where the image reads `*_file` options, the
     * config names secret files and holds no secret itself, so Alertmanager's status page and API
     * (open on its LAN port) show none; an older image gets the secrets inline, and the whole file
     * is a secret upload.
     */
    private alertmanagerConfig(): Pick<ContainerSpec, "files" | "secretFiles"> {
        const { config, userSecrets } = this.args.context;
        const { alerts, routing } = config.monitoring;
        if (credentialFilesSupported(config.images.alertmanager)) {
            return {
                files: [{ path: alertmanagerPaths.config, content: renderAlertmanagerConfig(alerts, routing, { files: alertmanagerPaths.secrets }) }],
                secretFiles: alertmanagerSecretFiles(alerts, alertmanagerPaths.secrets).map((file) => ({ path: file.path, content: userSecrets.alertCredentials[file.receiver].apply(file.content) })),
            };
        }
        const inline = pulumi.all([...userSecrets.alertCredentials]).apply((credentials) => renderAlertmanagerConfig(alerts, routing, { inline: credentials }));
        return { secretFiles: [{ path: alertmanagerPaths.config, content: pulumi.secret(inline) }] };
    }

    private grafana(): ContainerSpec {
        const { context, machine } = this.args;
        const database = databaseConnection(context, "grafana", { machine: this.args.machine.machineName, hostNetwork: true });
        const route = catalogEntry(context.catalog, "grafana")?.route;
        return {
            name: "grafana",
            image: context.config.images.grafana,
            hostNetwork: true,
            // Sets the admin password from its file on every start (a rotated secret logs in), then runs the image's /run.sh.
            entrypoint: [grafanaPaths.entrypoint],
            command: [grafanaImageEntrypoint],
            env: {
                GF_SERVER_HTTP_ADDR: machine.placed.address,
                GF_SERVER_HTTP_PORT: String(this.port("grafana").external),
                GF_SECURITY_ADMIN_USER: "admin",
                GF_SECURITY_ADMIN_PASSWORD__FILE: grafanaPaths.adminPassword,
                GF_AUTH_ANONYMOUS_ENABLED: "false",
                GF_USERS_ALLOW_SIGN_UP: "false",
                GF_DATABASE_TYPE: "postgres",
                GF_DATABASE_HOST: `${database.host}:${database.port}`,
                GF_DATABASE_NAME: database.database,
                GF_DATABASE_USER: database.user,
                GF_DATABASE_PASSWORD__FILE: grafanaPaths.databasePassword,
                GF_DATABASE_SSL_MODE: "disable",
                GF_ANALYTICS_REPORTING_ENABLED: "false",
                GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
                ...(route ? { GF_SERVER_ROOT_URL: `https://${route.host}/` } : {}),
            },
            secretFiles: [
                { path: grafanaPaths.adminPassword, content: context.secrets.values["grafana-admin"] },
                { path: grafanaPaths.databasePassword, content: database.password },
            ],
            files: [
                { path: grafanaPaths.entrypoint, content: renderGrafanaEntrypoint(), executable: true },
                { path: grafanaPaths.datasources, content: renderDatasources({ prometheus: `http://${this.lan("prometheus")}`, loki: `http://${this.lan("loki")}` }) },
                { path: grafanaPaths.dashboardProvider, content: renderDashboardProvider() },
                ...dashboards.map((dashboard) => ({ path: `${grafanaPaths.dashboards}/${dashboard.uid}.json`, content: dashboardJson(dashboard) })),
            ],
            mounts: [{ containerPath: grafanaPaths.data, localVolume: "grafana-data" }],
            healthcheck: { ...wgetCheck("grafana", this.lan("grafana")), startPeriod: "60s" },
        };
    }

    /** Runs a container of the stack on the monitoring machine; a bridged one joins the frontend network. */
    private run(spec: ContainerSpec): void {
        const { machine } = this.args;
        machine.container(spec.hostNetwork ? spec : { ...spec, networks: [{ name: machine.frontendNetwork.name }] }, this);
    }

    /** The published port of a monitoring service, after `ports` overrides. */
    private port(service: StackService): ServicePort {
        return this.args.machine.port(service);
    }

    /** `address:port` where a service answers on the LAN (its published port, or its listen address on the host network). */
    private lan(service: StackService): string {
        return `${this.args.machine.placed.address}:${this.port(service).external}`;
    }
}

/** The monitoring stack on the machine with the monitoring role; nothing when no enabled machine has it. */
export function deployMonitoring(context: PlatformContext): Monitoring | undefined {
    const machine = machineWithRole(context, "monitoring");
    if (machine === undefined) return undefined;
    return new Monitoring(`${machine.machineName}-monitoring`, { context, machine }, { parent: machine });
}

/** Links in alerts and UIs point at the edge's route when the service has one (the path stays `/`). */
function externalUrlFlag(context: PlatformContext, service: "prometheus" | "alertmanager"): string[] {
    const route = catalogEntry(context.catalog, service)?.route;
    return route === undefined ? [] : [`--web.external-url=https://${route.host}/`];
}
