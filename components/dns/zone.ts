import { createHash } from "node:crypto";
import { Catalog } from "../catalog/catalog";
import { Placement, PlacedService } from "../../machines/placement";
import { ServicePort } from "../../machines/services";

/** Service instances live under this label, so that they never clash with machines or route host names. */
export const serviceSubdomain = "svc";

/** Short TTLs: the lab changes with each `pulumi up`, and clients should notice soon. */
const ttlSeconds = 60;

export interface ZoneOptions {
    readonly domain: string;
    /** The machine that serves the zone (the edge): it is the zone's NS, and route host names point at it. */
    readonly nameserver: { readonly name: string; readonly address: string };
}

interface ZoneRecord {
    readonly name: string;
    readonly type: "A" | "SRV";
    readonly data: string;
}

/**
 * Every published port of an instance, named as an SRV service label: `<service>` for the main
 * port, `<service>-<port>` for the others (a `-tcp`/`-udp` suffix is dropped: SRV names the protocol).
 */
function namedPorts(placed: PlacedService): { label: string; port: ServicePort }[] {
    const main = placed.port === undefined ? [] : [{ label: placed.service, port: placed.port }];
    const extra = Object.entries(placed.extraPorts).map(([name, port]) => ({ label: `${placed.service}-${name.replace(/-(tcp|udp)$/, "")}`, port }));
    return [...main, ...extra];
}

function compare(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

function records(placement: Placement, catalog: Catalog, options: ZoneOptions): ZoneRecord[] {
    const fqdn = (relative: string) => `${relative}.${options.domain}.`;
    const result: ZoneRecord[] = [];
    for (const machine of placement.machines) result.push({ name: machine.name, type: "A", data: machine.address });
    for (const placed of placement.services) {
        const host = `${placed.instance}.${serviceSubdomain}`;
        result.push({ name: host, type: "A", data: placed.address });
        for (const { label, port } of namedPorts(placed)) {
            result.push({ name: `_${label}._${port.protocol ?? "tcp"}.${serviceSubdomain}`, type: "SRV", data: `0 10 ${port.external} ${fqdn(host)}` });
        }
    }
    const suffix = `.${options.domain}`;
    for (const entry of catalog.entries) {
        if (entry.route === undefined || !entry.route.host.endsWith(suffix)) continue;
        result.push({ name: entry.route.host.slice(0, -suffix.length), type: "A", data: options.nameserver.address });
    }
    const unique = new Map(result.map((record) => [`${record.name} ${record.type} ${record.data}`, record]));
    return [...unique.values()].sort((a, b) => compare(a.name, b.name) || compare(a.type, b.type) || compare(a.data, b.data));
}

/** An SOA serial derived from the records: the same zone always gets the same serial, any change a new one. */
export function zoneSerial(body: string): number {
    const digest = createHash("sha256").update(body).digest();
    return (digest.readUInt32BE(0) % 0x7ffffffe) + 1;
}

/**
 * The `domain` zone: SOA and NS (the edge machine), an A record per enabled machine, an A record
 * per service instance under `svc`, SRV records for every published port (`_<service>._tcp.svc`
 * lists every instance), and each route host name pointing at the edge. Pure.
 */
export function renderZone(placement: Placement, catalog: Catalog, options: ZoneOptions): string {
    const body = records(placement, catalog, options)
        .map((record) => `${record.name.padEnd(48)} IN ${record.type.padEnd(4)} ${record.data}`)
        .join("\n");
    const ns = `${options.nameserver.name}.${options.domain}.`;
    const soa = `@ IN SOA ${ns} hostmaster.${options.domain}. ${zoneSerial(`${ns}\n${body}`)} 3600 600 604800 ${ttlSeconds}`;
    return [`$ORIGIN ${options.domain}.`, `$TTL ${ttlSeconds}`, soa, `@ IN NS ${ns}`, body, ""].join("\n");
}
