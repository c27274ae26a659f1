import * as pulumi from "@pulumi/pulumi";
import { findService, lanUrl } from "../../machines/placement";
import { machineWithRole, PlatformContext } from "../context";
import { LiteLlm } from "../litellm/litellm";
import { hasEdge, liteLlmApiBase, openWebUiEnv, renderToolServerConnections, toolServerUrls } from "../openwebui/env";
import { OpenWebUi } from "../openwebui/openwebui";
import { databaseConnection } from "../postgres/connection";
import { deployOllama } from "./deploy";

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
                databaseUrl: databaseConnection(context, "litellm", { machine: gateway.machineName, hostNetwork: false }).url,
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
            databaseUrl: databaseConnection(context, "openwebui", { machine: webui.machineName, hostNetwork: false }).url,
            secretKey: secrets.values["webui-secret-key"],
            toolServerConnections: tools.length === 0 ? undefined : pulumi.secret(toolsKey.apply((key) => renderToolServerConnections(tools, key))),
        },
        { parent: webui },
    );
}
