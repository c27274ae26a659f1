import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { PlacedMachine } from "../../machines/placement";
import { preflightEndpoint } from "../../machines/preflight";

/** What to run on a machine, and when to run it again. */
export interface HostCommandArgs {
    readonly create: string;
    /** Run when the resource is deleted or replaced; must not fail (see scripts.ts). */
    readonly delete?: string;
    /** A change to any of these replaces the command, which runs `create` again. */
    readonly triggers: readonly pulumi.Input<unknown>[];
}

/** How model commands reach a machine: the same endpoint as its preflight check. */
export interface HostAccess {
    readonly machine: PlacedMachine;
    readonly ssh: PlatformConfig["ssh"];
    /** The SSH key (the SSH agent is used when absent). */
    readonly sshPrivateKey?: pulumi.Output<string>;
}

/** A shell command on a machine: local for a unix:// Docker host (with that DOCKER_HOST), over SSH otherwise. */
export function hostCommand(name: string, access: HostAccess, args: HostCommandArgs, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    const endpoint = preflightEndpoint(access.machine, access.ssh);
    if (endpoint.kind === "local") {
        const environment = { DOCKER_HOST: access.machine.dockerHost };
        return new command.local.Command(name, { create: args.create, delete: args.delete, triggers: [...args.triggers], environment }, opts);
    }
    return new command.remote.Command(
        name,
        {
            // A dead host fails in seconds rather than after ten slow dial attempts.
            connection: { host: endpoint.host, user: endpoint.user, port: endpoint.port, privateKey: access.sshPrivateKey, dialErrorLimit: 3, perDialTimeout: 10 },
            create: args.create,
            delete: args.delete,
            triggers: [...args.triggers],
        },
        opts,
    );
}
