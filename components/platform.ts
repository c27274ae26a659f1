import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../config/platform";
import { UserSecrets } from "../config/load";
import { Machine } from "../machines/machine";
import { place } from "../machines/placement";
import { buildCatalog, catalogEntry, machinesOutput, servicesOutput } from "./catalog/catalog";
import { PlatformContext } from "./context";
import { deployDns } from "./dns/dns";
import { deployEdge } from "./edge/edge";
import { deployMonitoring } from "./monitoring/monitoring";
import { deployDatabase } from "./postgres/database";
import { deployInference } from "./ollama/inference";
import { PlatformSecrets } from "./secrets/secrets";
import { deployTools } from "./tools/tools";
import { firewallPolicy, isLoopback } from "./firewall/policy";

/** The stack outputs; endpoints are plain values, credentials are secrets. */
export interface PlatformOutputs {
    readonly services: ReturnType<typeof servicesOutput>;
    readonly machines: ReturnType<typeof machinesOutput>;
    readonly openWebUiUrl?: string;
    readonly liteLlmUrl?: string;
    readonly grafanaUrl?: string;
    readonly prometheusUrl?: string;
    readonly uptimeKumaUrl?: string;
    readonly liteLlmMasterKey: pulumi.Output<string>;
    readonly grafanaAdminPassword: pulumi.Output<string>;
    readonly edgeAdminPassword: pulumi.Output<string>;
    readonly toolsApiKey: pulumi.Output<string>;
}

/** Wires the validated config to resources: machines first, then each service family. */
export function buildPlatform(config: PlatformConfig, userSecrets: UserSecrets): PlatformOutputs {
    const placement = place(config);
    const catalog = buildCatalog(placement, config.domain);
    const secrets = new PlatformSecrets("platform");
    // Loopback machines (the local stack) answer themselves alone: no host firewall to manage there.
    const firewalls = new Map(
        (config.firewall.enabled ? firewallPolicy(placement, config) : []).filter((fw) => !isLoopback(fw.address)).map((fw) => [fw.machine, fw]),
    );
    const machines = new Map(
        placement.machines.map((placed) => [
            placed.name,
            new Machine(placed.name, { placed, config, sshPrivateKey: userSecrets.sshPrivateKey, firewall: firewalls.get(placed.name) }),
        ]),
    );
    const context: PlatformContext = { config, placement, catalog, secrets, userSecrets, machines };

    // Service families. Each places its components under the Machine that runs them.
    // (one line per family: deployXxx(context);)
    deployMonitoring(context);
    deployTools(context);
    deployEdge(context);
    deployDns(context);
    deployInference(context);
    deployDatabase(context);

    const url = (service: Parameters<typeof catalogEntry>[1]) => catalogEntry(catalog, service)?.url;
    return {
        services: servicesOutput(catalog),
        machines: machinesOutput(placement),
        openWebUiUrl: url("open-webui"),
        liteLlmUrl: url("litellm"),
        grafanaUrl: url("grafana"),
        prometheusUrl: url("prometheus"),
        uptimeKumaUrl: url("uptime-kuma"),
        liteLlmMasterKey: secrets.liteLlmMasterKey,
        grafanaAdminPassword: secrets.values["grafana-admin"],
        edgeAdminPassword: secrets.values["edge-admin"],
        toolsApiKey: secrets.values["tools-api-key"],
    };
}
