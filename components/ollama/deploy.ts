import * as pulumi from "@pulumi/pulumi";
import { PlatformContext } from "../context";
import { Ollama } from "./ollama";

/**
 * Ollama on every enabled inference machine, as `<machine>-inference` (the container is
 * `<machine>-ollama`). With a NAS the shared store's writer comes first, since every warm-up
 * waits for its pulls; without one every node is the writer of its own local store and pulls
 * the models it serves.
 */
export function deployOllama(context: PlatformContext): void {
    const inference = [...context.machines.values()].filter((machine) => machine.placed.roles.includes("inference"));
    if (!context.placement.sharedModelStore) {
        for (const machine of inference) {
            new Ollama(
                `${machine.machineName}-inference`,
                {
                    machine,
                    config: context.config,
                    access: { machine: machine.placed, ssh: context.config.ssh, sshPrivateKey: context.userSecrets.sshPrivateKey },
                    storeModels: machine.placed.models,
                },
                { parent: machine },
            );
        }
        return;
    }
    const writer = inference.find((machine) => machine.placed.modelStoreWriter);
    const ordered = writer === undefined ? inference : [writer, ...inference.filter((machine) => machine !== writer)];
    let writerPulls: ReadonlyMap<string, pulumi.Resource> | undefined;
    for (const machine of ordered) {
        const isWriter = machine === writer;
        const ollama = new Ollama(
            `${machine.machineName}-inference`,
            {
                machine,
                config: context.config,
                access: { machine: machine.placed, ssh: context.config.ssh, sshPrivateKey: context.userSecrets.sshPrivateKey },
                storeModels: isWriter ? context.config.models.map((model) => model.name) : undefined,
                pulls: writerPulls,
            },
            { parent: machine },
        );
        if (isWriter) writerPulls = ollama.pulls;
    }
}
