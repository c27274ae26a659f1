import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../config/platform";
import { asRoot, renderInstallScript, renderRemoveScript } from "../components/firewall/iptables";
import { MachineFirewall } from "../components/firewall/policy";
import { shellQuote } from "../components/ollama/scripts";
import { PlacedMachine } from "./placement";
import { preflightEndpoint } from "./preflight";

/**
 * The machine's host firewall as a command resource named `<machine>-firewall`, reached like its
 * preflight (SSH, or locally for a unix-socket Docker host), run as root (`sudo -n` for another
 * user). The rendered rules travel as stdin: when they change (peers moved, a machine added or
 * disabled, adminCidrs edited) the provider updates the resource, which runs the install script
 * again and refills the chains in one transaction. Only a new connection replaces it; then the old
 * rules go first (deleteBeforeReplace), or the old resource's delete would remove the new rules.
 * Deleting the machine runs the remove script: exactly the platform's chains, jumps and unit.
 */
export function firewallCommand(
    placed: PlacedMachine,
    fw: MachineFirewall,
    config: PlatformConfig,
    sshPrivateKey: pulumi.Input<string> | undefined,
    preflight: pulumi.Resource,
    parent: pulumi.Resource,
): command.local.Command | command.remote.Command {
    const args = {
        create: asRoot("sh -s"),
        stdin: renderInstallScript(fw),
        delete: asRoot(`sh -c ${shellQuote(renderRemoveScript())}`),
    };
    const opts = { parent, dependsOn: [preflight], deleteBeforeReplace: true };
    const name = `${placed.name}-firewall`;
    const endpoint = preflightEndpoint(placed, config.ssh);
    if (endpoint.kind === "local") return new command.local.Command(name, args, opts);
    const connection = { host: endpoint.host, port: endpoint.port, user: endpoint.user, privateKey: sshPrivateKey, dialErrorLimit: 3, perDialTimeout: 10 };
    return new command.remote.Command(name, { ...args, connection }, opts);
}
