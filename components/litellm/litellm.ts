import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../../config/platform";
import { Machine } from "../../machines/machine";
import { Placement } from "../../machines/placement";
import { serviceKinds } from "../../machines/services";
import { liteLlmEnv, liteLlmPlainEnv, renderLiteLlmConfig } from "./config";

const liteLlmPort = serviceKinds.litellm.port;
export const liteLlmConfigPath = "/app/config.yaml";

export interface LiteLlmArgs {
    /** The gateway machine it runs on. */
    readonly machine: Machine;
    /** The validated platform config (image, routing settings, fallback). */
    readonly config: PlatformConfig;
    /** Where every model runs. */
    readonly placement: Placement;
    /** The `sk-` master key clients (and Open WebUI) use. */
    readonly masterKey: pulumi.Output<string>;
    /** Encrypts the credentials LiteLLM stores; it must never change once set. */
    readonly saltKey: pulumi.Output<string>;
    /** postgresql:// URL of LiteLLM's database (a secret). */
    readonly databaseUrl: pulumi.Output<string>;
    /** The external fallback's API key, when `fallback` is configured. */
    readonly fallbackApiKey?: pulumi.Output<string>;
}

/**
 * The LiteLLM proxy: one OpenAI-compatible endpoint that balances each model group over
 * the nodes that hold it, takes a failing node out of rotation, and falls back to the
 * external model when one is configured. Its config file names its secrets by environment
 * variable only; the image reads no `*_FILE` variables, so they are secret env values.
 */
export class LiteLlm extends pulumi.ComponentResource {
    /** The LiteLLM container. */
    public readonly container: docker.Container;

    constructor(name: string, args: LiteLlmArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:litellm:LiteLlm", name, {}, opts);
        const placed = args.machine.placed;
        const published = args.machine.port("litellm");
        const configYaml = renderLiteLlmConfig({
            placement: args.placement,
            models: args.config.models,
            gateway: placed.name,
            litellm: args.config.litellm,
            contextLength: args.config.ollama.contextLength,
            fallback: args.config.fallback,
        });

        this.container = args.machine.container(
            {
                name: "litellm",
                image: args.config.images.litellm,
                ports: [published],
                command: ["--config", liteLlmConfigPath, "--port", String(liteLlmPort.internal)],
                files: [{ path: liteLlmConfigPath, content: configYaml }],
                env: liteLlmPlainEnv(),
                secretEnv: {
                    [liteLlmEnv.masterKey]: args.masterKey,
                    LITELLM_SALT_KEY: args.saltKey,
                    [liteLlmEnv.databaseUrl]: args.databaseUrl,
                    ...(args.fallbackApiKey === undefined || args.config.fallback === undefined ? {} : { [liteLlmEnv.fallbackApiKey]: args.fallbackApiKey }),
                },
                networks: [{ name: args.machine.frontendNetwork.name, aliases: ["litellm"] }],
                // Liveness, not readiness: readiness fails while PostgreSQL is down, and autoheal would then
                // restart LiteLLM in a loop for nothing (master-key requests do not need the database).
                // The image has python3 but no curl.
                healthcheck: {
                    test: [
                        "CMD",
                        "python3",
                        "-c",
                        `import urllib.request; urllib.request.urlopen('http://localhost:${liteLlmPort.internal}/health/liveliness', timeout=8)`,
                    ],
                    startPeriod: "120s",
                },
            },
            this,
        );
        this.registerOutputs({ container: this.container.id });
    }
}
