import * as pulumi from "@pulumi/pulumi";
import { Machine } from "../../machines/machine";
import { machineWithRole, PlatformContext } from "../context";
import { corednsPaths, renderCorefile, zoneFilePath } from "./corefile";
import { renderZone } from "./zone";

export interface DnsArgs {
    /** The platform: placement and catalog (records), config (domain, upstream resolvers). */
    readonly context: PlatformContext;
    /** The machine that serves the zone: the edge. */
    readonly machine: Machine;
}

/** Readiness is only asked inside the container, so its port is not published. */
const readyPort = 8181;

/**
 * Service discovery: CoreDNS on the edge machine, authoritative for the platform domain (the
 * zone is rendered from placement and the catalog) and forwarding every other name upstream.
 */
export class Dns extends pulumi.ComponentResource {
    /** The zone's SOA serial line is part of this text: it changes whenever a record does. */
    public readonly zone: string;

    constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:dns:Dns", name, {}, opts);
        const { context, machine } = args;
        const coredns = machine.service("coredns");
        const health = machine.port("coredns");
        const domain = context.config.domain;
        this.zone = renderZone(context.placement, context.catalog, { domain, nameserver: { name: machine.machineName, address: machine.placed.address } });

        const metrics = machine.port("coredns", "metrics").internal;
        machine.container(
            {
                name: "coredns",
                image: context.config.images.coredns,
                ports: [health, ...Object.values(coredns.extraPorts)],
                networks: [{ name: machine.frontendNetwork.name, aliases: ["coredns"] }],
                files: [
                    {
                        path: corednsPaths.corefile,
                        content: renderCorefile({ domain, upstreams: context.config.dns.upstreams, ports: { health: health.internal, metrics, ready: readyPort } }),
                    },
                    { path: zoneFilePath(domain), content: this.zone },
                ],
                command: ["-conf", corednsPaths.corefile],
                healthcheck: { none: "coredns/coredns is built from scratch: no shell and no HTTP client to run a check; its /health is probed from outside through the catalog health URL" },
            },
            this,
        );
        this.registerOutputs({ zone: this.zone });
    }
}


/** CoreDNS on the machine with the edge role; nothing when no enabled machine has it. */
export function deployDns(context: PlatformContext): Dns | undefined {
    const machine = machineWithRole(context, "edge");
    if (machine === undefined) return undefined;
    return new Dns(`${machine.machineName}-dns`, { context, machine }, { parent: machine });
}
