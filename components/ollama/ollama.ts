import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { contextLength } from "../../config/context";
import { PlatformConfig } from "../../config/platform";
import { Machine } from "../../machines/machine";
import { serviceKinds } from "../../machines/services";
import { HostAccess, hostCommand } from "./command";
import { modelStorePath, ollamaContainerName, ollamaEnv, ollamaGpu } from "./env";
import { modelListScript, pullScript, removeScript, warmScript } from "./scripts";

const ollamaPort = serviceKinds.ollama.port;

export interface OllamaArgs {
    /** The inference machine it runs on. */
    readonly machine: Machine;
    /** The validated platform config (images, Ollama tunables). */
    readonly config: PlatformConfig;
    /** How this machine's model commands reach it. */
    readonly access: HostAccess;
    /** Every configured model, when this machine is the store's writer: it pulls them all. */
    readonly storeModels?: readonly string[];
    /** The writer's pull of each model, which this node's warm-ups wait for (the writer passes none). */
    readonly pulls?: ReadonlyMap<string, pulumi.Resource>;
}

/** A resource name part from a model tag: `llama3.1:8b` -> `llama3-1-8b`. */
export function modelSlug(model: string): string {
    return model.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * Ollama on one inference machine (its GPU, or CPU), serving from the shared model store,
 * and the commands that load its models: on the writer, the store's model list and one pull
 * per configured model; on every node, one warm-up per model placed on it. The model list
 * reaches commands only, never the container, so adding a model restarts nothing.
 */
export class Ollama extends pulumi.ComponentResource {
    /** The Ollama container. */
    public readonly container: docker.Container;
    /** The pull of each configured model (empty unless this machine is the writer). */
    public readonly pulls: ReadonlyMap<string, pulumi.Resource>;

    constructor(name: string, args: OllamaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:ollama:Ollama", name, {}, opts);
        const placed = args.machine.placed;
        const store = args.machine.nasVolumes.models;
        if (store === undefined) throw new Error(`${placed.name} has the inference role but no models volume`);
        const published = args.machine.port("ollama");
        const gpu = ollamaGpu(placed, args.config.images);

        this.container = args.machine.container(
            {
                name: "ollama",
                image: gpu.image,
                ports: [published],
                env: ollamaEnv(placed, args.config.ollama, ollamaPort.internal),
                mounts: [{ containerPath: modelStorePath, volumeName: store.name }],
                networks: [{ name: args.machine.frontendNetwork.name, aliases: ["ollama"] }],
                nvidiaGpus: gpu.nvidiaGpus,
                devices: gpu.devices,
                groupAdds: gpu.groupAdds,
                // The image has no HTTP client; `ollama list` asks the server and fails when it is down.
                healthcheck: { test: ["CMD", "ollama", "list"], startPeriod: "60s" },
            },
            this,
        );

        const containerName = ollamaContainerName(placed.name);
        type Extra = { delete?: string; dependsOn?: pulumi.Resource[]; timeout?: string };
        const run = (part: string, create: string, triggers: pulumi.Input<unknown>[], extra: Extra = {}) =>
            hostCommand(`${name}-${part}`, args.access, { create, delete: extra.delete, triggers }, {
                parent: this,
                dependsOn: [this.container, ...(extra.dependsOn ?? [])],
                customTimeouts: extra.timeout === undefined ? undefined : { create: extra.timeout, update: extra.timeout },
            });

        const pulls = new Map<string, pulumi.Resource>();
        if (args.storeModels !== undefined) {
            const list = run("model-list", modelListScript(containerName, args.storeModels), [this.container.id]);
            for (const model of args.storeModels) {
                const pull = run(`pull-${modelSlug(model)}`, pullScript(containerName, model), [model, this.container.id], {
                    delete: removeScript(containerName, model),
                    dependsOn: [list],
                    // A 70B model is tens of gigabytes from the registry.
                    timeout: "6h",
                });
                pulls.set(model, pull);
            }
        }
        this.pulls = pulls;

        const upstream = args.pulls ?? pulls;
        for (const model of placed.models) {
            const pull = upstream.get(model);
            const spec = args.config.models.find((m) => m.name === model);
            const numCtx = spec === undefined ? undefined : contextLength(spec, args.config.ollama.contextLength);
            run(`warm-${modelSlug(model)}`, warmScript(containerName, model, ollamaPort.internal, numCtx), [model, this.container.id, numCtx ?? "default"], {
                dependsOn: pull === undefined ? [] : [pull],
                // Loading a large model over NFS takes minutes.
                timeout: "1h",
            });
        }

        this.registerOutputs({ container: this.container.id });
    }
}
