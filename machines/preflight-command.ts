import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../config/platform";
import { PlacedMachine } from "./placement";
import { preflightDigest, preflightEndpoint, renderPreflight } from "./preflight";

/**
 * The machine's preflight check as a command resource named `<machine>-preflight`: over SSH (the
 * platform's user, port and key) or locally for a unix-socket Docker host. The script goes in on
 * stdin to `sh -s`, so the remote login shell does not matter; it runs again whenever it changes.
 */
export function preflightCommand(
    placed: PlacedMachine,
    config: PlatformConfig,
    sshPrivateKey: pulumi.Input<string> | undefined,
    parent: pulumi.Resource,
    firewall: boolean,
): command.local.Command | command.remote.Command {
    const script = renderPreflight(placed, config.nas, firewall);
    const args = { create: "sh -s", stdin: script, triggers: [preflightDigest(script)] };
    const name = `${placed.name}-preflight`;
    const endpoint = preflightEndpoint(placed, config.ssh);
    if (endpoint.kind === "local") return new command.local.Command(name, args, { parent });
    // A dead host fails in seconds, saying so, rather than after ten slow dial attempts.
    const connection = { host: endpoint.host, port: endpoint.port, user: endpoint.user, privateKey: sshPrivateKey, dialErrorLimit: 3, perDialTimeout: 10 };
    return new command.remote.Command(name, { ...args, connection }, { parent });
}
