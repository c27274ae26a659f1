import * as fs from "node:fs";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Machine } from "../../machines/machine";
import { serviceKinds } from "../../machines/services";
import { PlatformContext } from "../context";
import { BuildFile, toolsBuildArgs, toolsImageRef } from "./image";

/** The build context, this folder, relative to the project (Pulumi's working directory), so that the state does not depend on where the checkout is. */
const buildContext = path.relative(process.cwd(), __dirname) || ".";
const buildFiles: readonly BuildFile[] = ["Dockerfile", "entrypoint.py"].map((name) => ({ name, content: fs.readFileSync(path.join(__dirname, name), "utf8") }));

/** Where the API key is uploaded in the tool server's container. */
export const toolsApiKeyFile = "/run/secrets/mcpo-api-key";

export interface ToolServerArgs {
    /** The platform: placement (port), config (base image), secrets (API key). */
    readonly context: PlatformContext;
    /** A machine with the tools role; the image is built on its daemon and the replica runs there. */
    readonly machine: Machine;
}

/**
 * One replica of the Sequential Thinking OpenAPI server: mcpo in front of
 * @modelcontextprotocol/server-sequential-thinking, behind the platform's API key. The image is
 * built on the machine's own daemon (there is no registry in the lab), so the replica starts
 * without network access.
 */
export class ToolServer extends pulumi.ComponentResource {
    /** The image reference the replica runs. */
    public readonly imageRef: string;

    constructor(name: string, args: ToolServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:tools:ToolServer", name, {}, opts);
        const { context, machine } = args;
        const base = context.config.images.mcpoBase;
        this.imageRef = toolsImageRef(base, buildFiles);

        const build = new docker.Image(
            `${name}-image`,
            {
                imageName: this.imageRef,
                build: { context: buildContext, dockerfile: path.join(buildContext, "Dockerfile"), args: toolsBuildArgs(base) },
                skipPush: true,
            },
            { parent: this, provider: machine.provider },
        );
        machine.image(this.imageRef, build);

        const port = machine.port("mcpo");
        machine.container(
            {
                name: "mcpo",
                image: this.imageRef,
                ports: [port],
                networks: [{ name: machine.frontendNetwork.name, aliases: ["mcpo"] }],
                // The key as a file, read by the entrypoint (components/tools/entrypoint.py): in no command line and no environment.
                env: { MCPO_PORT: String(port.internal), MCPO_API_KEY_FILE: toolsApiKeyFile },
                secretFiles: [{ path: toolsApiKeyFile, content: context.secrets.values["tools-api-key"] }],
                // The health path (/docs) is served without the key, only the tool endpoints need it; the mcpo image has curl.
                healthcheck: { test: ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${port.internal}${serviceKinds.mcpo.healthPath}`] },
            },
            this,
        );
        this.registerOutputs({ imageRef: this.imageRef });
    }
}

/** One tool server replica on every enabled machine with the tools role. */
export function deployTools(context: PlatformContext): ToolServer[] {
    return [...context.machines.values()]
        .filter((machine) => machine.placed.roles.includes("tools"))
        .map((machine) => new ToolServer(`${machine.machineName}-tools`, { context, machine }, { parent: machine }));
}
