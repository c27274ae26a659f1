import * as pulumi from "@pulumi/pulumi";
import { ReceiverCredentials } from "./alerts";
import { formatIssues, PlatformConfig, validatePlatform } from "./platform";

export const configNamespace = "ai-platform";

/** Keys whose values are plain strings in the stack file; every other key holds YAML/JSON. */
const stringKeys = new Set(["domain", "lanCidr"]);

/** The user's secrets, only ever as Pulumi secrets. */
export interface UserSecrets {
    readonly sshPrivateKey?: pulumi.Output<string>;
    readonly fallbackApiKey?: pulumi.Output<string>;
    /** The secrets of each `monitoring.alerts` receiver, by index, as one secret each. */
    readonly alertCredentials: readonly pulumi.Output<ReceiverCredentials>[];
    /** ACME DNS provider credentials: names are plain, values secret. */
    readonly acmeCredentials: Readonly<Record<string, pulumi.Output<string>>>;
}

export interface LoadedConfig {
    readonly config: PlatformConfig;
    readonly secrets: UserSecrets;
}

/** Every `ai-platform:*` value, parsed; a value that is not JSON is kept as its string. */
function readRawConfig(): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        const [namespace, key] = fullKey.split(":", 2);
        if (namespace !== configNamespace || key === undefined) continue;
        raw[key] = stringKeys.has(key) ? value : parseJsonOrString(value);
    }
    return raw;
}

function parseJsonOrString(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

function asSecret(value: string | undefined): pulumi.Output<string> | undefined {
    return value === undefined ? undefined : pulumi.secret(value);
}

/**
 * Reads and validates the stack config. Any problem ends the program with one line per
 * problem, each naming its config path, before a single resource is registered.
 */
export function loadConfig(): LoadedConfig {
    const result = validatePlatform(readRawConfig());
    if (!result.ok) throw new pulumi.RunError(formatIssues(result.issues));
    for (const warning of result.warnings) pulumi.log.warn(`ai-platform:${warning.path}: ${warning.message}`);
    return {
        config: result.config,
        secrets: {
            sshPrivateKey: asSecret(result.secrets.sshPrivateKey),
            fallbackApiKey: asSecret(result.secrets.fallbackApiKey),
            alertCredentials: result.secrets.alertCredentials.map((credentials) => pulumi.secret(credentials)),
            acmeCredentials: Object.fromEntries(Object.entries(result.secrets.acmeCredentials ?? {}).map(([name, value]) => [name, pulumi.secret(value)])),
        },
    };
}
