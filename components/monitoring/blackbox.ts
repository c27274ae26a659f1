import { stringify } from "yaml";

export const blackboxPaths = { config: "/etc/blackbox_exporter/config.yml" } as const;

/** The two probe modules the Prometheus probe jobs name: HTTP 2xx and a TCP connect, over IPv4 (the LAN). */
export function renderBlackboxConfig(): string {
    return stringify({
        modules: {
            http_2xx: { prober: "http", timeout: "5s", http: { preferred_ip_protocol: "ip4", follow_redirects: true } },
            tcp_connect: { prober: "tcp", timeout: "5s", tcp: { preferred_ip_protocol: "ip4" } },
        },
    });
}
