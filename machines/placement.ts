import { GpuConfig, Role } from "../config/schema";
import { PlatformConfig } from "../config/platform";
import { ServiceName, ServicePort, serviceKind, serviceNames, singletonServiceRoles } from "./services";

/** One running instance of a service: where it runs and what it publishes. */
export interface PlacedService {
    /** Unique across the platform: the service name, or `<service>-<machine>` for per-node services. */
    readonly instance: string;
    readonly service: ServiceName;
    readonly machine: string;
    readonly address: string;
    /** The main published port (after `ports` overrides), if the service publishes one. */
    readonly port?: ServicePort;
    /** Further published ports by name. */
    readonly extraPorts: Readonly<Record<string, ServicePort>>;
}

/** The NAS exports a machine mounts (local volumes of the same names in a lab without a NAS). */
export type NasExport = "models" | "backups";

/** An enabled machine and everything placed on it. */
export interface PlacedMachine {
    readonly name: string;
    readonly address: string;
    readonly roles: readonly Role[];
    readonly gpu?: GpuConfig;
    readonly memoryGb?: number;
    /** Where its Docker daemon is reached (`ssh://user@address[:port]` unless overridden). */
    readonly dockerHost: string;
    readonly services: readonly PlacedService[];
    readonly mounts: readonly NasExport[];
    /** Ollama models this machine serves (empty unless it has the inference role). */
    readonly models: readonly string[];
    /**
     * True where this machine pulls into and prunes its model store: the one writer of the NAS's
     * shared store, or, in a lab without a NAS, every inference machine (each keeps its own store).
     */
    readonly modelStoreWriter: boolean;
}

/** Which service runs on which machine, with which ports, models and peers. Pure; no Pulumi. */
export interface Placement {
    readonly machines: readonly PlacedMachine[];
    readonly services: readonly PlacedService[];
    /** Model name -> the enabled machines serving it, in config order (a model whose nodes are all disabled is absent). */
    readonly modelNodes: Readonly<Record<string, readonly string[]>>;
    /** The inference machine that pulls models into the shared store, if any (none without a NAS: each node keeps its own). */
    readonly modelStoreWriter?: string;
    /** Whether the inference machines share one model store (the NAS `models` export) or each keep a local one. */
    readonly sharedModelStore: boolean;
}

function defaultDockerHost(config: PlatformConfig, address: string): string {
    const port = config.ssh.port === 22 ? "" : `:${config.ssh.port}`;
    return `ssh://${config.ssh.user}@${address}${port}`;
}

function runsOn(role: ReturnType<typeof serviceKind>["role"], roles: readonly Role[], gpu: GpuConfig | undefined): boolean {
    switch (role) {
        case "host":
            return true;
        case "gpu-nvidia":
            return gpu?.vendor === "nvidia" && roles.includes("inference");
        case "gpu-amd":
            return gpu?.vendor === "amd" && roles.includes("inference");
        default:
            return roles.includes(role);
    }
}

export function place(config: PlatformConfig): Placement {
    const enabled = Object.entries(config.machines).filter(([, machine]) => machine.enabled);
    const inferenceNames = enabled.filter(([, m]) => m.roles.includes("inference")).map(([name]) => name);
    const sharedModelStore = config.nas !== undefined;
    const modelStoreWriter = sharedModelStore ? (config.ollama.modelStoreWriter ?? [...inferenceNames].sort()[0]) : undefined;

    const enabledNames = new Set(enabled.map(([name]) => name));
    const modelNodes: Record<string, string[]> = {};
    for (const model of config.models) {
        const nodes = model.nodes.filter((node) => enabledNames.has(node));
        if (nodes.length > 0) modelNodes[model.name] = nodes;
    }

    const machines = enabled.map(([name, machine]): PlacedMachine => {
        const services = serviceNames
            .filter((service) => runsOn(serviceKind(service).role, machine.roles, machine.gpu))
            .map((service): PlacedService => {
                const kind = serviceKind(service);
                const singleton = singletonServiceRoles.includes(kind.role);
                const override = config.ports[service];
                return {
                    instance: singleton ? service : `${service}-${name}`,
                    service,
                    machine: name,
                    address: machine.address,
                    port: kind.port && { ...kind.port, external: override ?? kind.port.external },
                    extraPorts: Object.fromEntries(
                        Object.entries(kind.extraPorts ?? {}).map(([extra, port]) => [extra, { ...port, external: config.ports[`${service}.${extra}`] ?? port.external }]),
                    ),
                };
            });
        const mounts: NasExport[] = [];
        if (machine.roles.includes("inference")) mounts.push("models");
        if (machine.roles.includes("database")) mounts.push("backups");
        return {
            name,
            address: machine.address,
            roles: machine.roles,
            gpu: machine.gpu,
            memoryGb: machine.memoryGb,
            dockerHost: machine.docker?.host ?? defaultDockerHost(config, machine.address),
            services,
            mounts,
            models: config.models.filter((model) => model.nodes.includes(name)).map((model) => model.name),
            modelStoreWriter: sharedModelStore ? name === modelStoreWriter : machine.roles.includes("inference"),
        };
    });

    return {
        machines,
        services: machines.flatMap((machine) => machine.services),
        modelNodes,
        modelStoreWriter,
        sharedModelStore,
    };
}

/** Published ports that two services on one machine both claim, as `machine: port/protocol -> services`. */
export function portConflicts(placement: Placement): { machine: string; port: string; services: string[] }[] {
    const conflicts: { machine: string; port: string; services: string[] }[] = [];
    for (const machine of placement.machines) {
        const claims = new Map<string, Set<string>>();
        for (const service of machine.services) {
            const ports = [service.port, ...Object.values(service.extraPorts)].filter((p): p is ServicePort => p !== undefined);
            for (const port of ports) {
                const key = `${port.external}/${port.protocol ?? "tcp"}`;
                claims.set(key, (claims.get(key) ?? new Set()).add(service.service));
            }
        }
        for (const [port, services] of claims) {
            if (services.size > 1) conflicts.push({ machine: machine.name, port, services: [...services] });
        }
    }
    return conflicts;
}

/** The instance of a service on a machine, or undefined if it does not run there. */
export function findService(placement: Placement, service: ServiceName, machine?: string): PlacedService | undefined {
    return placement.services.find((s) => s.service === service && (machine === undefined || s.machine === machine));
}

/** Every instance of a service across the platform. */
export function instancesOf(placement: Placement, service: ServiceName): PlacedService[] {
    return placement.services.filter((s) => s.service === service);
}

/** `http://<address>:<port>` of a placed service's main port: how other machines reach it. */
export function lanUrl(service: PlacedService, path = ""): string {
    if (service.port === undefined) throw new Error(`${service.instance} publishes no port`);
    return `http://${service.address}:${service.port.external}${path}`;
}
