import * as pulumi from "@pulumi/pulumi";
import { findService, lanUrl } from "../../machines/placement";
import { machineWithRole, PlatformContext } from "../context";
import { LiteLlm } from "../litellm/litellm";
import { hasEdge, liteLlmApiBase, openWebUiEnv, renderToolServerConnections, toolServerUrls } from "../openwebui/env";
import { OpenWebUi } from "../openwebui/openwebui";
import { AppDatabase, databaseConnection } from "../postgres/connection";
import { deployOllama } from "./deploy";

/**
 * An app's database URL as a container on `machine` reaches it: the primary's container by
 * name when it runs on the same machine (whose LAN address may be 127.0.0.1, as on the local
 * stack), else the primary's LAN address.
 */
function databaseUrl(context: PlatformContext, app: AppDatabase, machine: string): pulumi.Output<string> {
    const connection = databaseConnection(context, app);
    const primary = findService(context.placement, "postgres");
    if (primary === undefined || primary.machine !== machine) return connection.url;
    const host = `${primary.machine}-postgres:${primary.port?.internal ?? 5432}`;
    return pulumi.secret(pulumi.interpolate`postgresql://${connection.user}:${connection.password}@${host}/${connection.database}`);
}

/** The inference tier: Ollama on every inference machine, LiteLLM in front of it, Open WebUI behind LiteLLM. */
export function deployInference(context: PlatformContext): void {
    deployOllama(context);
    const { config, placement, secrets } = context;

    const gateway = machineWithRole(context, "gateway");
    if (gateway !== undefined) {
        new LiteLlm(
            `${gateway.machineName}-gateway`,
            {
                machine: gateway,
                config,
                placement,
                masterKey: secrets.liteLlmMasterKey,
                saltKey: secrets.values["litellm-salt-key"],
                databaseUrl: databaseUrl(context, "litellm", gateway.machineName),
                fallbackApiKey: context.userSecrets.fallbackApiKey,
            },
            { parent: gateway },
        );
    }

    const webui = machineWithRole(context, "webui");
    const litellm = findService(placement, "litellm");
    const chat = findService(placement, "open-webui");
    if (webui === undefined || litellm === undefined || chat === undefined) return;
    const tools = toolServerUrls(context.catalog, placement, webui.machineName);
    const toolsKey = secrets.values["tools-api-key"];
    new OpenWebUi(
        `${webui.machineName}-webui`,
        {
            machine: webui,
            config,
            env: openWebUiEnv({
                liteLlmApiBase: liteLlmApiBase(litellm, webui.machineName),
                publicUrl: hasEdge(placement) ? `https://chat.${config.domain}` : lanUrl(chat),
            }),
            apiKey: secrets.liteLlmMasterKey,
            databaseUrl: databaseUrl(context, "openwebui", webui.machineName),
            secretKey: secrets.values["webui-secret-key"],
            toolServerConnections: tools.length === 0 ? undefined : pulumi.secret(toolsKey.apply((key) => renderToolServerConnections(tools, key))),
        },
        { parent: webui },
    );
}
