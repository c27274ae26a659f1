import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { parse } from "yaml";

export const projectRoot = path.resolve(__dirname, "..", "..");

/** A resource the program registered, as the engine would see it. */
export interface RegisteredResource {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
    /** The inputs as the engine receives them: secret values still inside their secret envelope. */
    readonly rawInputs: Record<string, unknown>;
    /** The name of the parent resource (undefined for the stack's direct children). */
    readonly parent?: string;
    /** The type of the parent resource: with `parent`, what identifies it (names repeat across types). */
    readonly parentType?: string;
    readonly provider?: string;
    readonly custom: boolean;
    /** Resource options the engine receives: kept on delete, replaced delete-first, and the names of the resources it depends on. */
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly dependsOn: readonly string[];
}

export interface ProgramRun {
    readonly resources: RegisteredResource[];
    /** The program's exports, resolved; secret outputs are reported in `secretOutputs`. */
    readonly outputs: Record<string, unknown>;
    readonly secretOutputs: Set<string>;
    readonly error?: Error;
}

export type StackConfig = Record<string, unknown>;

/** The `ai-platform:*` values of a stack file, keys without the namespace. */
export function readStackConfig(stackFile: string): StackConfig {
    const doc = parse(fs.readFileSync(path.join(projectRoot, stackFile), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).map(([key, value]) => [key.replace(/^ai-platform:/, ""), value]));
}

const secretSignature = "4dabf18193072939515e22adb298388d";

/** Strips the secret envelope the runtime puts around secret inputs, keeping the value. */
export function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[secretSignature] !== undefined) return unwrapSecrets(record.value);
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** The mock monitor names every resource through newUrn(parent, type, name): record the parent there. */
const parentUrns = new Map<string, string>();
const monitorPrototype = MockMonitor.prototype as unknown as { newUrn(parent: string, type: string, name: string): string };
const newUrn = monitorPrototype.newUrn;
monitorPrototype.newUrn = function (this: unknown, parent: string, type: string, name: string): string {
    parentUrns.set(`${type}::${name}`, parent);
    return newUrn.call(this, parent, type, name);
};

/** The options of each registration, as the request to the engine carries them (mocks do not pass them to newResource). */
interface RegistrationOptions {
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly dependsOn: readonly string[];
}
const registrationOptions = new Map<string, RegistrationOptions>();
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getRetainondelete(): boolean;
    getDeletebeforereplace(): boolean;
    getDependenciesList(): string[];
}
const registerPrototype = MockMonitor.prototype as unknown as { registerResource(req: RegisterRequest, callback: unknown): Promise<void> };
const registerResource = registerPrototype.registerResource;
registerPrototype.registerResource = function (this: unknown, req: RegisterRequest, callback: unknown): Promise<void> {
    registrationOptions.set(`${req.getType()}::${req.getName()}`, {
        retainOnDelete: req.getRetainondelete(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
        dependsOn: req.getDependenciesList().map((urn) => urn.slice(urn.lastIndexOf("::") + 2)),
    });
    return registerResource.call(this, req, callback);
};

function parentOf(type: string, name: string): { parent?: string; parentType?: string } {
    const urn = parentUrns.get(`${type}::${name}`);
    if (urn === undefined || urn === "" || urn.includes("pulumi:pulumi:Stack")) return {};
    const [typeChain, parent] = urn.split("::").slice(-2);
    return { parent, parentType: typeChain.slice(typeChain.lastIndexOf("$") + 1) };
}

/** The names of a resource's ancestors, nearest first, up to the stack. */
export function ancestors(run: ProgramRun, resource: RegisteredResource): string[] {
    const byKey = new Map(run.resources.map((r) => [`${r.type}::${r.name}`, r]));
    const chain: string[] = [];
    for (let current = byKey.get(`${resource.parentType}::${resource.parent}`); current !== undefined; current = byKey.get(`${current.parentType}::${current.parent}`)) {
        chain.push(current.name);
    }
    return chain;
}

/** Every string in a value that is not inside a secret envelope: what would be stored or shown in plain text. */
export function plainStrings(value: unknown): string[] {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(plainStrings);
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[secretSignature] !== undefined) return [];
        return Object.values(record).flatMap(plainStrings);
    }
    return [];
}

/** Every generated password under the mocks contains this marker, so a test can find leaks. */
export const generatedSecretMarker = "generated-secret-";

/** Mock provider state for the resource types whose outputs the program reads. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "random:index/randomPassword:RandomPassword": {
            const value = `${generatedSecretMarker}${name}-${"x".repeat(8)}`;
            // The real provider marks result and bcryptHash secret (additionalSecretOutputs); mocks ignore that, so do it here.
            return { ...inputs, result: pulumi.secret(value), bcryptHash: pulumi.secret(`$2a$10$${Buffer.from(value).toString("base64")}`) };
        }
        case "docker:index/remoteImage:RemoteImage":
            return { ...inputs, imageId: `sha256:${Buffer.from(String(inputs.name)).toString("hex").padEnd(64, "0").slice(0, 64)}`, repoDigest: `${inputs.name}@sha256:0` };
        case "docker:index/network:Network":
        case "docker:index/volume:Volume":
            return { ...inputs, name: inputs.name ?? name };
        default:
            return inputs;
    }
}

/**
 * Runs the real program (index.ts) under Pulumi's mocks with the given stack config, the way
 * `pulumi preview` would evaluate it, and returns every registered resource and output.
 */
export async function runProgram(config: StackConfig, options: { secretKeys?: string[] } = {}): Promise<ProgramRun> {
    const resources: RegisteredResource[] = [];
    parentUrns.clear();
    registrationOptions.clear();
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const inputs = unwrapSecrets(args.inputs) as Record<string, unknown>;
                resources.push({ type: args.type, name: args.name, inputs, rawInputs: args.inputs, custom: args.custom ?? true, provider: args.provider, retainOnDelete: false, deleteBeforeReplace: false, dependsOn: [] });
                return { id: args.custom === false ? "" : `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) };
            },
            call(args) {
                return args.inputs;
            },
        },
        "ai-platform",
        "test",
        true,
    );
    const namespaced = Object.fromEntries(
        Object.entries(config).map(([key, value]) => [`ai-platform:${key}`, typeof value === "string" ? value : JSON.stringify(value)]),
    );
    pulumi.runtime.setAllConfig(namespaced, (options.secretKeys ?? []).map((key) => `ai-platform:${key}`));

    for (const cached of Object.keys(require.cache)) {
        if (cached.startsWith(projectRoot) && !cached.includes("node_modules") && !cached.includes(`${path.sep}test${path.sep}`)) {
            delete require.cache[cached];
        }
    }
    let program: Record<string, unknown>;
    try {
        program = require(path.join(projectRoot, "index.ts")) as Record<string, unknown>;
    } catch (error) {
        await settle();
        return { resources: withParents(resources), outputs: {}, secretOutputs: new Set(), error: error as Error };
    }
    const outputs: Record<string, unknown> = {};
    const secretOutputs = new Set<string>();
    for (const [key, value] of Object.entries(program)) {
        if (pulumi.Output.isInstance(value)) {
            if (await pulumi.isSecret(value)) secretOutputs.add(key);
            outputs[key] = await new Promise((resolve) => value.apply(resolve));
        } else {
            outputs[key] = value;
        }
    }
    await settle();
    return { resources: withParents(resources), outputs, secretOutputs };
}

function withParents(resources: RegisteredResource[]): RegisteredResource[] {
    return resources.map((r) => ({ ...r, ...registrationOptions.get(`${r.type}::${r.name}`), ...parentOf(r.type, r.name) }));
}

/**
 * Waits until every registration of this run has reached the mock. A registration still in
 * flight when the next run calls setMocks would be serialized against the next run's monitor,
 * which may not yet have declared secret support: its secrets would arrive as plain values.
 */
async function settle(): Promise<void> {
    await pulumi.runtime.disconnect();
}

export function ofType(run: ProgramRun, type: string): RegisteredResource[] {
    return run.resources.filter((r) => r.type === type);
}

export const types = {
    machine: "ai-platform:machines:Machine",
    provider: "pulumi:providers:docker",
    container: "docker:index/container:Container",
    network: "docker:index/network:Network",
    volume: "docker:index/volume:Volume",
    image: "docker:index/remoteImage:RemoteImage",
    password: "random:index/randomPassword:RandomPassword",
    command: "command:remote:Command",
    localCommand: "command:local:Command",
} as const;
