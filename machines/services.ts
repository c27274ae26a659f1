import { Role } from "../config/schema";

/** A port a service publishes on its machine's LAN address. */
export interface ServicePort {
    /** The port inside the container. */
    readonly internal: number;
    /** The default published port; `ai-platform:ports.<service>` overrides the main one. */
    readonly external: number;
    readonly protocol?: "tcp" | "udp";
}

/** What the platform knows about one kind of service before any machine is chosen. */
export interface ServiceKind {
    /** The role that places it; `host` services run on every enabled machine. */
    readonly role: Role | "host" | "gpu-nvidia" | "gpu-amd";
    /** The main port (HTTP unless said otherwise); absent for a service that publishes nothing. */
    readonly port?: ServicePort;
    /** Further published ports by name (DNS, HTTPS, metrics). */
    readonly extraPorts?: Readonly<Record<string, ServicePort>>;
    /** Path probed for health on the main port; absent where the protocol is not HTTP. */
    readonly healthPath?: string;
    /** Where Prometheus scrapes it: a named port (default the main port) and a path. */
    readonly metrics?: { readonly port?: string; readonly path: string };
    /**
     * The Traefik host `<subdomain>.<domain>`, whether it sits behind basic auth, and optionally a
     * plain-HTTP Traefik entrypoint (a named extra port of traefik) that serves it on the edge's LAN
     * address for clients inside containers, which need neither the lab's DNS nor its certificate.
     */
    readonly route?: { readonly subdomain: string; readonly auth: boolean; readonly lanEntrypoint?: string };
}

/**
 * Every service the platform runs, keyed by the name used in labels, container names,
 * DNS records and the `services` output. Ports follow the seed where it names them.
 */
export const serviceKinds = {
    "node-exporter": { role: "host", port: { internal: 9100, external: 9100 }, healthPath: "/", metrics: { path: "/metrics" } },
    cadvisor: { role: "host", port: { internal: 8080, external: 8080 }, healthPath: "/healthz", metrics: { path: "/metrics" } },
    autoheal: { role: "host" },
    alloy: { role: "host", port: { internal: 12345, external: 12345 }, healthPath: "/-/ready", metrics: { path: "/metrics" } },
    "dcgm-exporter": { role: "gpu-nvidia", port: { internal: 9400, external: 9400 }, healthPath: "/health", metrics: { path: "/metrics" } },
    "amd-exporter": { role: "gpu-amd", port: { internal: 5000, external: 5000 }, healthPath: "/metrics", metrics: { path: "/metrics" } },

    postgres: { role: "database", port: { internal: 5432, external: 5432 } },
    "postgres-exporter": { role: "database", port: { internal: 9187, external: 9187 }, healthPath: "/", metrics: { path: "/metrics" } },
    "postgres-backup": { role: "database" },
    "postgres-replica": { role: "database-replica", port: { internal: 5432, external: 5432 } },
    "postgres-replica-exporter": { role: "database-replica", port: { internal: 9187, external: 9187 }, healthPath: "/", metrics: { path: "/metrics" } },

    ollama: { role: "inference", port: { internal: 11434, external: 11434 }, healthPath: "/api/version" },
    litellm: {
        role: "gateway",
        port: { internal: 4000, external: 4000 },
        healthPath: "/health/liveliness",
        metrics: { path: "/metrics/" },
        route: { subdomain: "llm", auth: false },
    },
    "open-webui": { role: "webui", port: { internal: 8080, external: 3000 }, healthPath: "/health", route: { subdomain: "chat", auth: false } },

    traefik: {
        role: "edge",
        port: { internal: 8082, external: 8082 },
        extraPorts: { web: { internal: 80, external: 80 }, websecure: { internal: 443, external: 443 }, tools: { internal: 8001, external: 8001 } },
        healthPath: "/ping",
        metrics: { path: "/metrics" },
        route: { subdomain: "traefik", auth: true },
    },
    // Behind basic auth: Uptime Kuma gives its admin account to whoever opens it first.
    "uptime-kuma": { role: "edge", port: { internal: 3001, external: 3001 }, healthPath: "/", route: { subdomain: "status", auth: true } },
    coredns: {
        role: "edge",
        port: { internal: 8080, external: 8053 },
        extraPorts: {
            dns: { internal: 53, external: 53, protocol: "udp" },
            "dns-tcp": { internal: 53, external: 53, protocol: "tcp" },
            metrics: { internal: 9153, external: 9153 },
        },
        healthPath: "/health",
        metrics: { port: "metrics", path: "/metrics" },
    },
    mcpo: { role: "tools", port: { internal: 8000, external: 8000 }, healthPath: "/docs", route: { subdomain: "tools", auth: false, lanEntrypoint: "tools" } },

    prometheus: { role: "monitoring", port: { internal: 9090, external: 9090 }, healthPath: "/-/healthy", metrics: { path: "/metrics" }, route: { subdomain: "prometheus", auth: true } },
    alertmanager: { role: "monitoring", port: { internal: 9093, external: 9093 }, healthPath: "/-/healthy", metrics: { path: "/metrics" }, route: { subdomain: "alertmanager", auth: true } },
    grafana: { role: "monitoring", port: { internal: 3000, external: 3001 }, healthPath: "/api/health", metrics: { path: "/metrics" }, route: { subdomain: "grafana", auth: false } },
    loki: { role: "monitoring", port: { internal: 3100, external: 3100 }, healthPath: "/ready", metrics: { path: "/metrics" } },
    "blackbox-exporter": { role: "monitoring", port: { internal: 9115, external: 9115 }, healthPath: "/-/healthy", metrics: { path: "/metrics" } },
} as const satisfies Record<string, ServiceKind>;

export type ServiceName = keyof typeof serviceKinds;
export const serviceNames = Object.keys(serviceKinds) as ServiceName[];

export function serviceKind(name: ServiceName): ServiceKind {
    return serviceKinds[name];
}

/** Roles that place exactly one instance of their services on the platform. */
export const singletonServiceRoles: readonly ServiceKind["role"][] = ["database", "database-replica", "edge", "gateway", "webui", "monitoring"];
