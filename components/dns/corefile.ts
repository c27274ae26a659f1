/** Where CoreDNS's files live in its container. */
export const corednsPaths = {
    corefile: "/etc/coredns/Corefile",
    zonesDir: "/etc/coredns/zones",
} as const;

export function zoneFilePath(domain: string): string {
    return `${corednsPaths.zonesDir}/db.${domain}`;
}

export interface CorefileOptions {
    readonly domain: string;
    /** Resolvers for every name outside the domain. */
    readonly upstreams: readonly string[];
    /** Ports inside the container. */
    readonly ports: { readonly health: number; readonly metrics: number; readonly ready: number };
}

/**
 * The Corefile: the platform zone from its file (reloaded when the SOA serial changes), every
 * other name forwarded upstream and cached; health, readiness and Prometheus metrics. Pure.
 */
export function renderCorefile(options: CorefileOptions): string {
    const metrics = `    prometheus :${options.ports.metrics}`;
    return [
        `${options.domain} {`,
        `    file ${zoneFilePath(options.domain)} {`,
        "        reload 30s",
        "    }",
        metrics,
        "    errors",
        "    log",
        "}",
        "",
        ". {",
        `    forward . ${options.upstreams.join(" ")}`,
        "    cache 300",
        "    loop",
        `    health :${options.ports.health}`,
        `    ready :${options.ports.ready}`,
        metrics,
        "    errors",
        "    log",
        "}",
        "",
    ].join("\n");
}
