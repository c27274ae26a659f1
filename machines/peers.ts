import { ServiceName } from "./services";

/**
 * The service graph: which services open connections to which published ports. Pure data; the
 * host firewall (components/firewall) admits exactly these paths, besides three generic ones
 * that follow from the catalog: Prometheus scrapes every metrics port, the blackbox exporter
 * probes every health URL (a service's main port), and Traefik reaches every routed service.
 *
 * `lan` is every device on `lanCidr`: the doors meant for people (Traefik's HTTP/HTTPS and the
 * lab's DNS).
 */
export type Client = ServiceName | "lan";

/** A published port by name: `main`, or the name of an extra port (`traefik.websecure` is `{ traefik: { websecure } }`). */
export const clientsOf: Partial<Record<ServiceName, Readonly<Record<string, readonly Client[]>>>> = {
    // The apps' databases (LiteLLM, Open WebUI, Grafana) and the replica's stream; backups and the exporter are on the primary's machine.
    postgres: { main: ["litellm", "open-webui", "grafana", "postgres-replica"] },
    // LiteLLM's model_list points at every node's api_base.
    ollama: { main: ["litellm"] },
    // Open WebUI's only model source.
    litellm: { main: ["open-webui"] },
    // Open WebUI's tool servers, where it is given the replicas directly (no edge).
    mcpo: { main: ["open-webui"] },
    // Every machine's Alloy pushes logs; Grafana's Loki datasource.
    loki: { main: ["alloy", "grafana"] },
    // Grafana's Prometheus datasource.
    prometheus: { main: ["grafana"] },
    // Prometheus sends its alerts.
    alertmanager: { main: ["prometheus"] },
    // People reach every UI through Traefik; Open WebUI reaches the tool servers through its plain-HTTP LAN entrypoint.
    traefik: { web: ["lan"], websecure: ["lan"], tools: ["open-webui"] },
    // The lab's DNS answers every device (the router forwards the domain to it).
    coredns: { dns: ["lan"], "dns-tcp": ["lan"] },
};

/**
 * Services whose containers share the host's network namespace: their ports are not published
 * through Docker, so the host's INPUT path (not DOCKER-USER) sees their traffic. Kept equal to
 * the components' `hostNetwork: true` by a test.
 */
export const hostNetworkServices: readonly ServiceName[] = ["node-exporter", "alloy", "traefik", "prometheus", "blackbox-exporter", "grafana"];
