import * as pulumi from "@pulumi/pulumi";
import { Machine } from "../../machines/machine";
import { ContainerSpec } from "../container/spec";
import { machineWithRole, PlatformContext } from "../context";
import { EdgeRoute, edgeRoutes, pingFlags, renderAuth, renderRoutes, traefikPaths, traefikStaticArgs } from "./traefik";

export interface EdgeArgs {
    /** The platform: catalog (routes), config (domain, edge, dns), secrets (admin password, ACME credentials). */
    readonly context: PlatformContext;
    /** The machine with the edge role; every container here runs on it. */
    readonly machine: Machine;
}

const uptimeKumaData = "/app/data";

/**
 * The edge of the platform on one machine: Traefik (HTTPS with the default certificate or an
 * ACME DNS-01 wildcard, HTTP redirected, a route per routed catalog service, basic auth on the
 * admin UIs, /ping, Prometheus metrics) and Uptime Kuma.
 */
export class Edge extends pulumi.ComponentResource {
    /** Every host name Traefik routes, as `https://<host>`, by service. */
    public readonly routeUrls: Readonly<Record<string, string>>;

    constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:edge:Edge", name, {}, opts);
        const { context, machine } = args;
        const routes = edgeRoutes(context.catalog);

        machine.container(this.traefik(args, routes), this);

        machine.container(
            {
                name: "uptime-kuma",
                image: context.config.images.uptimeKuma,
                ports: [machine.port("uptime-kuma")],
                networks: [{ name: machine.frontendNetwork.name, aliases: ["uptime-kuma"] }],
                // Version 2 asks the first visitor to choose a database unless the type comes from the environment
                // (server/setup-database.js: UPTIME_KUMA_DB_TYPE set -> no setup page, db-config.json written).
                env: { UPTIME_KUMA_DB_TYPE: "sqlite" },
                // SQLite needs POSIX locks: a local volume, never NFS.
                mounts: [{ containerPath: uptimeKumaData, localVolume: "uptime-kuma-data" }],
                // The image's own HEALTHCHECK binary since 2.0 (extra/healthcheck.js is deprecated upstream); it expects the start page's 302.
                healthcheck: { test: ["CMD", "/app/extra/healthcheck"], startPeriod: "180s" },
            },
            this,
        );

        this.routeUrls = Object.fromEntries(routes.map((route) => [route.name, `https://${route.host}`]));
        this.registerOutputs({ routeUrls: this.routeUrls });
    }

    /** Traefik on the host network, so that it reaches every backend, its own machine's too, at `<address>:<port>`. */
    private traefik(args: EdgeArgs, routes: readonly EdgeRoute[]): ContainerSpec {
        const { context, machine } = args;
        const published = (extra?: string) => machine.port("traefik", extra).external;
        const ports = { web: published("web"), websecure: published("websecure"), metrics: published() };
        const acme = context.config.edge.acme;
        const lanEntrypoints = Object.fromEntries(
            routes.flatMap((route) => (route.lanEntrypoint === undefined ? [] : [[route.lanEntrypoint, published(route.lanEntrypoint)]])),
        );
        const options = { address: machine.placed.address, ports, lanEntrypoints, domain: context.config.domain, acme, acmeResolvers: context.config.dns.upstreams };
        const credentials = acme === undefined ? [] : Object.entries(context.userSecrets.acmeCredentials);
        const credentialPath = (variable: string) => `${traefikPaths.acmeCredentialsDir}/${variable}`;
        const adminUser = context.config.edge.adminUser;
        return {
            name: "traefik",
            image: context.config.images.traefik,
            hostNetwork: true,
            command: traefikStaticArgs(options),
            files: [{ path: traefikPaths.routes, content: renderRoutes(routes) }],
            secretFiles: [
                { path: traefikPaths.auth, content: context.secrets.edgeAdminBcrypt.apply((hash) => renderAuth(adminUser, hash)) },
                ...credentials.map(([variable, value]) => ({ path: credentialPath(variable), content: value })),
            ],
            // lego reads every credential variable from `<NAME>_FILE`.
            env: Object.fromEntries(credentials.map(([variable]) => [`${variable}_FILE`, credentialPath(variable)])),
            mounts: acme === undefined ? [] : [{ containerPath: traefikPaths.acmeDir, localVolume: "traefik-acme" }],
            healthcheck: { test: ["CMD", "traefik", "healthcheck", ...pingFlags(options)] },
        };
    }
}

/** The edge on the machine with the edge role; nothing when no enabled machine has it. */
export function deployEdge(context: PlatformContext): Edge | undefined {
    const machine = machineWithRole(context, "edge");
    if (machine === undefined) return undefined;
    return new Edge(`${machine.machineName}-edge`, { context, machine }, { parent: machine });
}
