import { stringify } from "yaml";
import { Catalog, CatalogEntry } from "../catalog/catalog";
import { serviceKind } from "../../machines/services";

/** Where Traefik's files live in its container. */
export const traefikPaths = {
    dynamicDir: "/etc/traefik/dynamic",
    routes: "/etc/traefik/dynamic/routes.yml",
    auth: "/etc/traefik/dynamic/auth.yml",
    acmeDir: "/var/lib/traefik",
    acmeStorage: "/var/lib/traefik/acme.json",
    acmeCredentialsDir: "/run/secrets/acme",
} as const;

/** The certificate resolver's name, and the middleware that puts admin UIs behind basic auth. */
export const acmeResolver = "acme";
export const adminAuthMiddleware = "admin-auth";
/** The API serves the dashboard at /dashboard/ only: this sends the bare host name there. */
export const dashboardRootMiddleware = "dashboard-root";

/** The ACME DNS-01 settings of the edge, without credentials (those are secret files). */
export interface AcmeSettings {
    readonly email: string;
    readonly dnsProvider: string;
    readonly caServer?: string;
}

export interface TraefikStaticOptions {
    /** The LAN address the entrypoints bind to (Traefik runs on the host network). */
    readonly address: string;
    readonly ports: { readonly web: number; readonly websecure: number; readonly metrics: number };
    /** Plain-HTTP entrypoints on the LAN address, by name, for routes that declare a `lanEntrypoint`. */
    readonly lanEntrypoints: Readonly<Record<string, number>>;
    /** The platform domain: with ACME, one wildcard certificate is requested for it. */
    readonly domain: string;
    readonly acme?: AcmeSettings;
    /** Public resolvers that check DNS-01 propagation (the lab's own CoreDNS answers for the domain). */
    readonly acmeResolvers: readonly string[];
}

/** The flags that make `traefik healthcheck --ping` find the ping entrypoint. */
export function pingFlags(options: Pick<TraefikStaticOptions, "address" | "ports">): string[] {
    return ["--ping=true", "--ping.entrypoint=metrics", `--entrypoints.metrics.address=${options.address}:${options.ports.metrics}`];
}

/** Traefik's static configuration as command-line flags. Pure. */
export function traefikStaticArgs(options: TraefikStaticOptions): string[] {
    const { address, ports, acme } = options;
    const args = [
        "--global.checknewversion=false",
        "--global.sendanonymoususage=false",
        "--log.level=INFO",
        "--accesslog=true",
        `--entrypoints.web.address=${address}:${ports.web}`,
        "--entrypoints.web.http.redirections.entrypoint.to=websecure",
        "--entrypoints.web.http.redirections.entrypoint.scheme=https",
        "--entrypoints.web.http.redirections.entrypoint.permanent=true",
        `--entrypoints.websecure.address=${address}:${ports.websecure}`,
        "--entrypoints.websecure.http.tls=true",
        ...Object.entries(options.lanEntrypoints).map(([name, port]) => `--entrypoints.${name}.address=${address}:${port}`),
        ...pingFlags(options),
        "--metrics.prometheus=true",
        "--metrics.prometheus.entrypoint=metrics",
        "--metrics.prometheus.addrouterslabels=true",
        "--api.dashboard=true",
        `--providers.file.directory=${traefikPaths.dynamicDir}`,
        "--providers.file.watch=true",
    ];
    if (acme === undefined) return args;
    // One wildcard certificate for the whole domain: one ACME order instead of one per route.
    return [
        ...args,
        `--entrypoints.websecure.http.tls.certresolver=${acmeResolver}`,
        `--entrypoints.websecure.http.tls.domains[0].main=${options.domain}`,
        `--entrypoints.websecure.http.tls.domains[0].sans=*.${options.domain}`,
        `--certificatesresolvers.${acmeResolver}.acme.email=${acme.email}`,
        `--certificatesresolvers.${acmeResolver}.acme.storage=${traefikPaths.acmeStorage}`,
        ...(acme.caServer === undefined ? [] : [`--certificatesresolvers.${acmeResolver}.acme.caserver=${acme.caServer}`]),
        `--certificatesresolvers.${acmeResolver}.acme.dnschallenge.provider=${acme.dnsProvider}`,
        `--certificatesresolvers.${acmeResolver}.acme.dnschallenge.resolvers=${options.acmeResolvers.map((r) => `${r}:53`).join(",")}`,
    ];
}

/** One HTTP route: a host name, where its servers are, and whether it sits behind basic auth. */
export interface EdgeRoute {
    /** Router and service name: the catalog service. */
    readonly name: string;
    readonly host: string;
    readonly auth: boolean;
    /** `http://<address>:<port>` of every instance; empty for Traefik's own dashboard. */
    readonly servers: readonly string[];
    /** Health-checked path on each server, when the service has one. */
    readonly healthPath?: string;
    /** A plain-HTTP entrypoint on the edge's LAN address that also serves this route, whatever the host name. */
    readonly lanEntrypoint?: string;
    /** A path prefix the HTTPS route does not serve: the service's metrics, which Prometheus scrapes on the LAN. */
    readonly hiddenPathPrefix?: string;
}

/** The routed catalog entries, one route per service (instances of a service become its servers). */
export function edgeRoutes(catalog: Catalog): EdgeRoute[] {
    const byService = new Map<string, CatalogEntry[]>();
    for (const entry of catalog.entries) {
        if (entry.route === undefined) continue;
        byService.set(entry.service, [...(byService.get(entry.service) ?? []), entry]);
    }
    return [...byService.values()].map((entries) => {
        const [first] = entries;
        const route = first.route as NonNullable<CatalogEntry["route"]>;
        const dashboard = first.service === "traefik";
        return {
            name: first.service,
            host: route.host,
            auth: route.auth,
            servers: dashboard ? [] : entries.map((entry) => `http://${entry.address}:${entry.port}`),
            healthPath: dashboard ? undefined : serviceKind(first.service).healthPath,
            lanEntrypoint: serviceKind(first.service).route?.lanEntrypoint,
            hiddenPathPrefix: dashboard ? undefined : metricsOnMainPort(first.service),
        };
    });
}

/** The metrics path of a service whose metrics share its main (routed) port, without a trailing slash. */
function metricsOnMainPort(service: CatalogEntry["service"]): string | undefined {
    const metrics = serviceKind(service).metrics;
    return metrics === undefined || metrics.port !== undefined ? undefined : metrics.path.replace(/\/$/, "");
}

/** The file-provider document with every router and service. Holds no secret. Pure. */
export function renderRoutes(routes: readonly EdgeRoute[]): string {
    const routers: Record<string, unknown> = {};
    const services: Record<string, unknown> = {};
    const middlewares: Record<string, unknown> = {};
    for (const route of routes) {
        const dashboard = route.servers.length === 0;
        const chain = [...(route.auth ? [adminAuthMiddleware] : []), ...(dashboard ? [dashboardRootMiddleware] : [])];
        routers[route.name] = {
            rule: route.hiddenPathPrefix === undefined ? `Host(\`${route.host}\`)` : `Host(\`${route.host}\`) && !PathPrefix(\`${route.hiddenPathPrefix}\`)`,
            entryPoints: ["websecure"],
            service: dashboard ? "api@internal" : route.name,
            ...(chain.length === 0 ? {} : { middlewares: chain }),
        };
        if (dashboard) middlewares[dashboardRootMiddleware] = { redirectRegex: { regex: "^(https?://[^/]+)/?$", replacement: "${1}/dashboard/" } };
        if (route.lanEntrypoint !== undefined) {
            routers[`${route.name}-lan`] = { rule: "PathPrefix(`/`)", entryPoints: [route.lanEntrypoint], service: route.name };
        }
        if (dashboard) continue;
        services[route.name] = {
            loadBalancer: {
                servers: route.servers.map((url) => ({ url })),
                passHostHeader: true,
                ...(route.healthPath === undefined ? {} : { healthCheck: { path: route.healthPath, interval: "15s", timeout: "5s" } }),
            },
        };
    }
    return stringify({ http: { routers, services, ...(Object.keys(middlewares).length === 0 ? {} : { middlewares }) } });
}

/** The basic-auth middleware: `user:<bcrypt hash>`. The result is secret; deliver it as a secret file. Pure. */
export function renderAuth(user: string, bcryptHash: string): string {
    return stringify({ http: { middlewares: { [adminAuthMiddleware]: { basicAuth: { users: [`${user}:${bcryptHash}`], removeHeader: true } } } } });
}
