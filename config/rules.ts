import { alertIssues, alertWarnings } from "./alerts";
import { contextLength, kvCacheGb } from "./context";
import { ParsedPlatform, Role } from "./schema";
import { serviceKind, serviceNames } from "../machines/services";

/** What `ports` may move: a service's main port (`grafana`), or a named extra port (`traefik.websecure`). */
const movablePorts: readonly string[] = serviceNames.flatMap((service) => [
    ...(serviceKind(service).port === undefined ? [] : [service]),
    ...Object.keys(serviceKind(service).extraPorts ?? {}).map((extra) => `${service}.${extra}`),
]);

/** One thing wrong with the config: where (a dotted path under `ai-platform:`) and what. */
export interface ConfigIssue {
    readonly path: string;
    readonly message: string;
}

/** Roles that at most one enabled machine may hold (the platform runs one instance of each). */
const singletonRoles: readonly Role[] = ["database", "database-replica", "edge", "gateway", "webui", "monitoring"];

export function ipv4ToNumber(address: string): number {
    return address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function cidrContains(cidr: string, address: string): boolean {
    const [network, bitsText] = cidr.split("/");
    const bits = Number(bitsText);
    const size = 2 ** (32 - bits);
    const start = Math.floor(ipv4ToNumber(network) / size) * size;
    const value = ipv4ToNumber(address);
    return value >= start && value < start + size;
}

function machinesWithRole(config: ParsedPlatform, role: Role): string[] {
    return Object.entries(config.machines)
        .filter(([, machine]) => machine.enabled && machine.roles.includes(role))
        .map(([name]) => name);
}

/** What deserves a word but must not stop a deployment. */
export function crossFieldWarnings(config: ParsedPlatform): ConfigIssue[] {
    return [...disabledModelNodeWarnings(config), ...acmeWarnings(config), ...alertWarnings(config.monitoring)];
}

/** ACME without credentials only works for the few lego providers that need none; most fail at the first renewal. */
function acmeWarnings(config: ParsedPlatform): ConfigIssue[] {
    const acme = config.edge.acme;
    if (acme === undefined || Object.keys(acme.credentials ?? {}).length > 0) return [];
    return [
        {
            path: "edge.acme.credentials",
            message: `is empty: most lego providers (${acme.dnsProvider} too, unless it needs none) read their API token from it; set one with pulumi config set --secret --path 'edge.acme.credentials.<VARIABLE>' ...`,
        },
    ];
}

/** A disabled machine listed as a model's node is dropped from that model (enabled: false takes it out of everything that refers to it). */
function disabledModelNodeWarnings(config: ParsedPlatform): ConfigIssue[] {
    return config.models.flatMap((model, index) => {
        const disabled = model.nodes.filter((node) => config.machines[node]?.enabled === false);
        if (disabled.length === 0) return [];
        const served = disabled.length < model.nodes.length;
        const consequence = served ? "it is served by its other nodes" : "no enabled node serves it: it stays in the store but LiteLLM does not route it";
        return [{ path: `models[${index}].nodes`, message: `${disabled.join(", ")} ${disabled.length === 1 ? "is" : "are"} disabled and dropped from ${model.name}; ${consequence}` }];
    });
}

/** The cross-field rules zod cannot express per field. Returns every problem, not the first. */
export function crossFieldIssues(config: ParsedPlatform): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const add = (path: string, message: string) => issues.push({ path, message });
    const machineNames = Object.keys(config.machines);

    if (machineNames.length === 0) add("machines", "must declare at least one machine");

    const seenAddresses = new Map<string, string>();
    for (const [name, machine] of Object.entries(config.machines)) {
        const path = `machines.${name}`;
        if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
            add(path, "machine name must be a DNS label: lower-case letters, digits and '-', at most 63 characters");
        }
        if (!cidrContains(config.lanCidr, machine.address)) {
            add(`${path}.address`, `${machine.address} is outside lanCidr ${config.lanCidr}`);
        }
        const other = seenAddresses.get(machine.address);
        if (other !== undefined) add(`${path}.address`, `${machine.address} is already used by machine ${other}`);
        else seenAddresses.set(machine.address, name);

        const duplicateRoles = machine.roles.filter((role, i) => machine.roles.indexOf(role) !== i);
        if (duplicateRoles.length > 0) add(`${path}.roles`, `lists ${duplicateRoles.join(", ")} more than once`);
        if (machine.roles.includes("database") && machine.roles.includes("database-replica")) {
            add(`${path}.roles`, "the database replica must not run on the primary's machine");
        }
        if (machine.gpu?.hsaOverrideGfxVersion !== undefined && machine.gpu.vendor !== "amd") {
            add(`${path}.gpu.hsaOverrideGfxVersion`, "applies to AMD GPUs only");
        }
        if (machine.gpu !== undefined && !machine.roles.includes("inference")) {
            add(`${path}.gpu`, "a GPU is only used by the inference role: add it to roles or remove the gpu");
        }
    }

    for (const name of machineNames) {
        const shadowed = machineNames.find((other) => other !== name && name.startsWith(`${other}-`));
        if (shadowed !== undefined) {
            add(`machines.${name}`, `starts with another machine's name and '-' (${shadowed}): resources are named <machine>-..., so one machine's targets would catch the other's; rename one`);
        }
    }

    const databases = machinesWithRole(config, "database");
    if (databases.length === 0) add("machines", "exactly one enabled machine must have the database role; none has");
    for (const role of singletonRoles) {
        const holders = machinesWithRole(config, role);
        if (holders.length > 1) add("machines", `at most one enabled machine may have the ${role} role; ${holders.join(", ")} do`);
    }
    const needs: [Role, Role, string][] = [
        ["webui", "gateway", "Open WebUI talks to LiteLLM"],
        ["gateway", "inference", "LiteLLM routes to Ollama"],
        ["database-replica", "database", "the replica streams from the primary"],
    ];
    for (const [role, needed, why] of needs) {
        if (machinesWithRole(config, role).length > 0 && machinesWithRole(config, needed).length === 0) {
            add("machines", `the ${role} role needs an enabled machine with the ${needed} role (${why})`);
        }
    }

    const writer = config.ollama.modelStoreWriter;
    if (writer !== undefined && config.nas === undefined) {
        add("ollama.modelStoreWriter", "applies to the shared model store on a NAS; without nas every inference machine pulls into its own local store: remove it");
    } else if (writer !== undefined && !machinesWithRole(config, "inference").includes(writer)) {
        add("ollama.modelStoreWriter", `${writer} is not an enabled machine with the inference role`);
    }
    if (config.postgres.backupHostPath !== undefined && config.nas !== undefined) {
        add("postgres.backupHostPath", `applies to a lab without a NAS; with nas the backups go to its export ${config.nas.exports.backups}: remove one of them`);
    }
    for (const key of Object.keys(config.ports)) {
        if (!movablePorts.includes(key)) add(`ports.${key}`, `is not a service port; ports are ${movablePorts.join(", ")}`);
    }

    const seenModels = new Set<string>();
    config.models.forEach((model, index) => {
        const path = `models[${index}]`;
        if (seenModels.has(model.name)) add(`${path}.name`, `${model.name} is listed more than once`);
        seenModels.add(model.name);
        const seenNodes = new Set<string>();
        model.nodes.forEach((node, nodeIndex) => {
            const nodePath = `${path}.nodes[${nodeIndex}]`;
            const problem = seenNodes.has(node) ? `${node} is listed more than once` : modelNodeProblem(config, model, node);
            seenNodes.add(node);
            if (problem !== undefined) add(nodePath, problem);
        });
    });
    if (machinesWithRole(config, "gateway").length > 0 && config.models.length === 0 && config.fallback === undefined) {
        add("models", "must list at least one model (or set fallback) for the gateway to serve");
    }
    issues.push(...alertIssues(config.monitoring));
    return issues;
}

/**
 * Why a model cannot run on a node, or undefined when it fits: its weights, and the KV cache of
 * its context window in each of Ollama's parallel slots (see config/context.ts), must fit in
 * the node's VRAM (or memory, on a CPU node).
 */
function modelNodeProblem(config: ParsedPlatform, model: ParsedPlatform["models"][number], node: string): string | undefined {
    const machine = config.machines[node];
    if (machine === undefined) return `${node} is not a machine in machines`;
    if (!machine.enabled) return undefined; // dropped from the model: see crossFieldWarnings
    if (!machine.roles.includes("inference")) return `${node} does not have the inference role`;
    if (machine.gpu === undefined && machine.memoryGb === undefined) return `${node} has no gpu: set machines.${node}.memoryGb so ${model.name} can run on its CPU`;
    const [room, what] = machine.gpu !== undefined ? [machine.gpu.vramGb * machine.gpu.count, "of VRAM"] : [machine.memoryGb ?? 0, "of memory and no GPU"];
    if (model.sizeGb > room) return `${model.name} needs ${model.sizeGb} GB but ${node} has ${room} GB ${what}`;
    const tokens = contextLength(model, config.ollama.contextLength);
    if (tokens === undefined) return undefined;
    const cache = kvCacheGb(model.sizeGb, tokens, config.ollama.numParallel);
    if (model.sizeGb + cache <= room) return undefined;
    return (
        `${model.name} needs ${model.sizeGb} GB and about ${cache.toFixed(1)} GB of KV cache (${tokens} tokens of context x ollama.numParallel ${config.ollama.numParallel}) ` +
        `but ${node} has ${room} GB ${what}: lower its contextLength (or ollama.contextLength, ollama.numParallel)`
    );
}
