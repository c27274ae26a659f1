import { loadConfig } from "./config/load";
import { buildPlatform } from "./components/platform";

const { config, secrets } = loadConfig();
const platform = buildPlatform(config, secrets);

export const services = platform.services;
export const machines = platform.machines;
export const openWebUiUrl = platform.openWebUiUrl;
export const liteLlmUrl = platform.liteLlmUrl;
export const grafanaUrl = platform.grafanaUrl;
export const prometheusUrl = platform.prometheusUrl;
export const uptimeKumaUrl = platform.uptimeKumaUrl;
export const liteLlmMasterKey = platform.liteLlmMasterKey;
export const grafanaAdminPassword = platform.grafanaAdminPassword;
export const edgeAdminPassword = platform.edgeAdminPassword;
export const toolsApiKey = platform.toolsApiKey;
