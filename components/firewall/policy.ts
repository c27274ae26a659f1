import { Client, clientsOf, hostNetworkServices } from "../../machines/peers";
import { Placement, PlacedMachine, PlacedService } from "../../machines/placement";
import { ServiceName, serviceKind } from "../../machines/services";

/** An address range admitted to a port, and why (it ends up in the rule's comment). */
export interface FirewallSource {
    readonly cidr: string;
    readonly why: string;
}

/** One published port of one machine, and everything admitted to it. */
export interface PortPolicy {
    readonly instance: string;
    readonly service: ServiceName;
    /** `main`, or the name of an extra port. */
    readonly portName: string;
    readonly port: number;
    readonly protocol: "tcp" | "udp";
    /** `published`: a Docker-published port (DNAT, then FORWARD via DOCKER-USER); `host`: a host-network listener (INPUT). */
    readonly path: "published" | "host";
    /** Sorted by address, one entry per range. */
    readonly sources: readonly FirewallSource[];
}

/** The policy of one machine's host firewall. */
export interface MachineFirewall {
    readonly machine: string;
    readonly address: string;
    readonly ports: readonly PortPolicy[];
}

/** Who, besides peers, is admitted: the whole LAN for the doors meant for people, the operator's workstations everywhere. */
export interface FirewallAccess {
    readonly lanCidr: string;
    readonly adminCidrs: readonly string[];
}

/** The addresses of every machine running a client service, except `target`'s own (its traffic never crosses the LAN interface). */
function clientSources(placement: Placement, client: Client, target: PlacedMachine, access: FirewallAccess): FirewallSource[] {
    if (client === "lan") return [{ cidr: access.lanCidr, why: "the LAN" }];
    return placement.services
        .filter((s) => s.service === client && s.machine !== target.name)
        .map((s) => ({ cidr: `${s.address}/32`, why: `${client} on ${s.machine}` }));
}

/** Every client service of one port of a placed service: the graph's explicit edges plus the catalog's generic ones. */
function clientsOfPort(placement: Placement, placed: PlacedService, portName: string): Client[] {
    const kind = serviceKind(placed.service);
    const clients: Client[] = [...(clientsOf[placed.service]?.[portName] ?? [])];
    if (kind.metrics !== undefined && (kind.metrics.port ?? "main") === portName) clients.push("prometheus");
    if (portName === "main") {
        // Every catalog entry's health URL is its main port, probed by the blackbox exporter.
        clients.push("blackbox-exporter");
        if (kind.route !== undefined) {
            const edge = placement.services.some((s) => s.service === "traefik");
            if (edge) clients.push("traefik");
            // Without an edge, people reach the UIs that have their own login on the service's own port.
            else if (!kind.route.auth) clients.push("lan");
        }
    }
    return clients;
}

function uniqueSorted(sources: readonly FirewallSource[]): FirewallSource[] {
    const byCidr = new Map<string, string[]>();
    for (const source of sources) byCidr.set(source.cidr, [...(byCidr.get(source.cidr) ?? []), source.why]);
    const key = (cidr: string) => cidr.split(/[./]/).map((part) => part.padStart(3, "0")).join(".");
    return [...byCidr.entries()]
        .sort(([a], [b]) => key(a).localeCompare(key(b)))
        .map(([cidr, whys]) => ({ cidr, why: [...new Set(whys)].join(", ") }));
}

/**
 * The host firewall of every enabled machine, from placement and the service graph: for each
 * port the platform publishes there, the machines whose services connect to it, the LAN where
 * the port is meant for people, and the operator's `adminCidrs`. Pure.
 */
export function firewallPolicy(placement: Placement, access: FirewallAccess): MachineFirewall[] {
    return placement.machines.map((machine) => ({
        machine: machine.name,
        address: machine.address,
        ports: machine.services.flatMap((placed) =>
            [["main", placed.port] as const, ...Object.entries(placed.extraPorts)].flatMap(([portName, port]): PortPolicy[] => {
                if (port === undefined) return [];
                const peers = clientsOfPort(placement, placed, portName).flatMap((client) => clientSources(placement, client, machine, access));
                const admins = access.adminCidrs.map((cidr) => ({ cidr, why: "adminCidrs" }));
                return [
                    {
                        instance: placed.instance,
                        service: placed.service,
                        portName,
                        port: port.external,
                        protocol: port.protocol ?? "tcp",
                        path: hostNetworkServices.includes(placed.service) ? "host" : "published",
                        sources: uniqueSorted([...peers, ...admins]),
                    },
                ];
            }),
        ),
    }));
}

/** Whether a machine's address is a loopback address: its ports answer that machine alone, so it needs no host firewall. */
export function isLoopback(address: string): boolean {
    return address.startsWith("127.");
}
