import * as pulumi from "@pulumi/pulumi";
import { Machine } from "../../machines/machine";
import { findService } from "../../machines/placement";
import { ServicePort, serviceKinds } from "../../machines/services";
import { catalogEntry } from "../catalog/catalog";
import { ContainerSpec, Healthcheck } from "../container/spec";
import { machineWithRole, PlatformContext } from "../context";
import { databaseConnection } from "../postgres/connection";
import { alertmanagerPaths, renderAlertmanagerConfig } from "./alertmanager";
import { blackboxPaths, renderBlackboxConfig } from "./blackbox";
import { dashboardJson, dashboards } from "./dashboards";
import { grafanaPaths, renderDashboardProvider, renderDatasources } from "./grafana";
import { lokiPaths, renderLokiConfig } from "./loki";
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

/** Same-machine peers talk over the frontend network by alias: `<service>:<container port>`. */
function alias(service: StackService): string {
    return `${service}:${serviceKinds[service].port.internal}`;
}

/** wget against the service's own health path; every image of the stack has busybox or Alpine wget. */
function wgetCheck(service: StackService): Healthcheck {
    const kind = serviceKinds[service];
    return { test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://localhost:${kind.port.internal}${kind.healthPath}`] };
}

/**
 * The monitoring stack on one machine: Prometheus (targets from the catalog), Alertmanager,
 * the blackbox exporter, Loki and Grafana (provisioned datasources and dashboards, its
 * database on the platform's PostgreSQL).
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
        const { context, machine } = args;
        const retention = context.config.monitoring.retention;

        this.run({
            name: "prometheus",
            image: context.config.images.prometheus,
            ports: [this.port("prometheus")],
            files: [
                { path: prometheusPaths.config, content: renderPrometheusConfig(context.catalog, { alertmanager: alias("alertmanager"), blackbox: alias("blackbox-exporter") }) },
                { path: prometheusPaths.rules, content: renderAlertRules() },
            ],
            mounts: [{ containerPath: prometheusPaths.data, volumeName: machine.localVolume("prometheus-data", this).name }],
            command: [
                `--config.file=${prometheusPaths.config}`,
                `--storage.tsdb.path=${prometheusPaths.data}`,
                `--storage.tsdb.retention.time=${retention}`,
                "--web.enable-lifecycle",
            ],
            healthcheck: wgetCheck("prometheus"),
        });

        const webhook = context.config.monitoring.hasAlertWebhook ? context.userSecrets.alertWebhookUrl : undefined;
        this.run({
            name: "alertmanager",
            image: context.config.images.alertmanager,
            ports: [this.port("alertmanager")],
            secretFiles: [
                {
                    path: alertmanagerPaths.config,
                    content: pulumi.secret(webhook === undefined ? pulumi.output(renderAlertmanagerConfig(undefined)) : webhook.apply(renderAlertmanagerConfig)),
                },
            ],
            mounts: [{ containerPath: alertmanagerPaths.data, volumeName: machine.localVolume("alertmanager-data", this).name }],
            command: [`--config.file=${alertmanagerPaths.config}`, `--storage.path=${alertmanagerPaths.data}`, "--cluster.listen-address="],
            healthcheck: wgetCheck("alertmanager"),
        });

        this.run({
            name: "blackbox-exporter",
            image: context.config.images.blackboxExporter,
            ports: [this.port("blackbox-exporter")],
            files: [{ path: blackboxPaths.config, content: renderBlackboxConfig() }],
            command: [`--config.file=${blackboxPaths.config}`],
            healthcheck: wgetCheck("blackbox-exporter"),
        });

        this.run({
            name: "loki",
            image: context.config.images.loki,
            ports: [this.port("loki")],
            files: [{ path: lokiPaths.config, content: renderLokiConfig(retention) }],
            mounts: [{ containerPath: lokiPaths.data, volumeName: machine.localVolume("loki-data", this).name }],
            command: [`-config.file=${lokiPaths.config}`],
            // Loki's image is distroless with busybox (wget on the PATH).
            healthcheck: { ...wgetCheck("loki"), startPeriod: "60s" },
        });

        this.run(this.grafana());

        this.prometheusUrl = this.lanUrl("prometheus");
        this.grafanaUrl = this.lanUrl("grafana");
        this.registerOutputs({ prometheusUrl: this.prometheusUrl, grafanaUrl: this.grafanaUrl });
    }

    private grafana(): ContainerSpec {
        const { context, machine } = this.args;
        const database = databaseConnection(context, "grafana");
        const route = catalogEntry(context.catalog, "grafana")?.route;
        const internal = (service: StackService) => `http://${alias(service)}`;
        return {
            name: "grafana",
            image: context.config.images.grafana,
            ports: [this.port("grafana")],
            env: {
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
                { path: grafanaPaths.datasources, content: renderDatasources({ prometheus: internal("prometheus"), loki: internal("loki") }) },
                { path: grafanaPaths.dashboardProvider, content: renderDashboardProvider() },
                ...dashboards.map((dashboard) => ({ path: `${grafanaPaths.dashboards}/${dashboard.uid}.json`, content: dashboardJson(dashboard) })),
            ],
            mounts: [{ containerPath: grafanaPaths.data, volumeName: machine.localVolume("grafana-data", this).name }],
            healthcheck: { ...wgetCheck("grafana"), startPeriod: "60s" },
        };
    }

    /** Runs a container of the stack on the monitoring machine, reachable by its service name from its peers. */
    private run(spec: ContainerSpec): void {
        const { machine } = this.args;
        machine.container({ ...spec, networks: [{ name: machine.frontendNetwork.name, aliases: [spec.name] }] }, this);
    }

    /** The published port of a monitoring service, after `ports` overrides. */
    private port(service: StackService): ServicePort {
        const port = findService(this.args.context.placement, service, this.args.machine.machineName)?.port;
        if (port === undefined) throw new Error(`${service} is not placed on ${this.args.machine.machineName}`);
        return port;
    }

    private lanUrl(service: StackService): string {
        const port = this.port(service);
        return `http://${this.args.machine.placed.address}:${port.external}`;
    }
}

/** The monitoring stack on the machine with the monitoring role; nothing when no enabled machine has it. */
export function deployMonitoring(context: PlatformContext): Monitoring | undefined {
    const machine = machineWithRole(context, "monitoring");
    if (machine === undefined) return undefined;
    return new Monitoring(`${machine.machineName}-monitoring`, { context, machine }, { parent: machine });
}
