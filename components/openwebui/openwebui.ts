import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { Machine } from "../../machines/machine";
import { serviceKinds } from "../../machines/services";

const webUiPort = serviceKinds["open-webui"].port;

export interface OpenWebUiArgs {
    /** The webui machine it runs on. */
    readonly machine: Machine;
    /** The validated platform config (image). */
    readonly config: PlatformConfig;
    /** Plain settings (see env.ts). */
    readonly env: Readonly<Record<string, string>>;
    /** LiteLLM's master key, used as the OpenAI API key. */
    readonly apiKey: pulumi.Output<string>;
    /** postgresql:// URL of Open WebUI's database (a secret). */
    readonly databaseUrl: pulumi.Output<string>;
    /** Signs sessions; generated once. */
    readonly secretKey: pulumi.Output<string>;
    /** TOOL_SERVER_CONNECTIONS JSON (it carries the tools API key), when there are tool servers. */
    readonly toolServerConnections?: pulumi.Output<string>;
}

/** Open WebUI: the chat UI, talking to LiteLLM only, its accounts and chats in PostgreSQL. */
export class OpenWebUi extends pulumi.ComponentResource {
    /** The Open WebUI container. */
    public readonly container: docker.Container;

    constructor(name: string, args: OpenWebUiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:openwebui:OpenWebUi", name, {}, opts);
        const published = args.machine.port("open-webui");

        this.container = args.machine.container(
            {
                name: "open-webui",
                image: args.config.images.openWebUi,
                ports: [published],
                env: args.env,
                secretEnv: {
                    OPENAI_API_KEY: args.apiKey,
                    DATABASE_URL: args.databaseUrl,
                    WEBUI_SECRET_KEY: args.secretKey,
                    ...(args.toolServerConnections === undefined ? {} : { TOOL_SERVER_CONNECTIONS: args.toolServerConnections }),
                },
                // Uploads, caches and the vector store stay on a local volume; accounts and chats are in PostgreSQL.
                mounts: [{ containerPath: "/app/backend/data", localVolume: "open-webui-data" }],
                networks: [{ name: args.machine.frontendNetwork.name, aliases: ["open-webui"] }],
                healthcheck: { test: ["CMD", "curl", "-sf", `http://localhost:${webUiPort.internal}/health`], startPeriod: "180s" },
            },
            this,
        );
        this.registerOutputs({ container: this.container.id });
    }
}
