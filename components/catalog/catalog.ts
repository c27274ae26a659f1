import { Placement, PlacedService } from "../../machines/placement";
import { ServiceName, serviceKind } from "../../machines/services";

/** One registered endpoint of a running service instance. */
export interface CatalogEntry {
    /** Unique name: the service, or `<service>-<machine>` for per-node services. */
    readonly instance: string;
    readonly service: ServiceName;
    readonly machine: string;
    readonly address: string;
    /** The main published port. */
    readonly port: number;
    readonly protocol: "tcp" | "udp";
    /** How to reach it on the LAN: `http://<address>:<port>` (or `postgresql://`, `tcp://`). */
    readonly url: string;
    /** What a health probe requests: an HTTP URL, or `tcp://address:port` where the protocol is not HTTP. */
    readonly healthUrl: string;
    /** Prometheus scrape target, if the service exposes metrics. */
    readonly metrics?: { readonly target: string; readonly path: string };
    /** Traefik route, if the service is published through the edge. */
    readonly route?: { readonly host: string; readonly auth: boolean };
}

/** Every endpoint of the platform, derived from placement: a placed service is registered by construction. */
export interface Catalog {
    readonly domain: string;
    readonly entries: readonly CatalogEntry[];
}

function urlScheme(service: ServiceName): string {
    return service === "postgres" || service === "postgres-replica" ? "postgresql" : "http";
}

function entryFor(placed: PlacedService, domain: string): CatalogEntry | undefined {
    const kind = serviceKind(placed.service);
    if (placed.port === undefined) return undefined;
    const hostPort = `${placed.address}:${placed.port.external}`;
    const scheme = urlScheme(placed.service);
    const metricsPort = kind.metrics?.port === undefined ? placed.port : placed.extraPorts[kind.metrics.port];
    return {
        instance: placed.instance,
        service: placed.service,
        machine: placed.machine,
        address: placed.address,
        port: placed.port.external,
        protocol: placed.port.protocol ?? "tcp",
        url: `${scheme}://${hostPort}`,
        healthUrl: kind.healthPath === undefined ? `tcp://${hostPort}` : `http://${hostPort}${kind.healthPath}`,
        metrics: kind.metrics && metricsPort && { target: `${placed.address}:${metricsPort.external}`, path: kind.metrics.path },
        route: kind.route && { host: `${kind.route.subdomain}.${domain}`, auth: kind.route.auth },
    };
}

export function buildCatalog(placement: Placement, domain: string): Catalog {
    const entries = placement.services.map((placed) => entryFor(placed, domain)).filter((e): e is CatalogEntry => e !== undefined);
    return { domain, entries };
}

/** The one entry of a platform-wide service, if it is placed. */
export function catalogEntry(catalog: Catalog, service: ServiceName): CatalogEntry | undefined {
    return catalog.entries.find((entry) => entry.service === service);
}

/** The `services` stack output: instance -> where it runs and how to check it. Plain values only. */
export function servicesOutput(catalog: Catalog): Record<string, { service: string; machine: string; url: string; healthUrl: string; route?: string }> {
    return Object.fromEntries(
        catalog.entries.map((entry) => [
            entry.instance,
            {
                service: entry.service,
                machine: entry.machine,
                url: entry.url,
                healthUrl: entry.healthUrl,
                ...(entry.route ? { route: `https://${entry.route.host}` } : {}),
            },
        ]),
    );
}

/** The `machines` stack output: name -> address, roles and the service instances it runs. */
export function machinesOutput(placement: Placement): Record<string, { address: string; roles: string[]; services: string[] }> {
    return Object.fromEntries(
        placement.machines.map((machine) => [
            machine.name,
            { address: machine.address, roles: [...machine.roles], services: machine.services.map((s) => s.instance) },
        ]),
    );
}
