import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** Every password and key the platform generates, by the name its RandomPassword carries. */
export const generatedSecretNames = [
    "postgres-superuser",
    "postgres-replication",
    "postgres-litellm",
    "postgres-openwebui",
    "postgres-grafana",
    "postgres-exporter",
    "litellm-master-key",
    "litellm-salt-key",
    "webui-secret-key",
    "grafana-admin",
    "edge-admin",
    "tools-api-key",
] as const;
export type GeneratedSecretName = (typeof generatedSecretNames)[number];

export interface PlatformSecretsArgs {}

/**
 * The one place platform secrets are generated. Values are Pulumi secrets (encrypted in
 * state); alphanumeric so that they can sit in URLs and config files without escaping.
 */
export class PlatformSecrets extends pulumi.ComponentResource {
    /** name -> generated value (a Pulumi secret). */
    public readonly values: Readonly<Record<GeneratedSecretName, pulumi.Output<string>>>;
    /** bcrypt hash of the edge admin password, for Traefik basic auth. */
    public readonly edgeAdminBcrypt: pulumi.Output<string>;
    /** The LiteLLM master key (`sk-` + the generated value). */
    public readonly liteLlmMasterKey: pulumi.Output<string>;

    constructor(name: string, _args: PlatformSecretsArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:secrets:PlatformSecrets", name, {}, opts);
        const passwords = Object.fromEntries(
            generatedSecretNames.map((secret) => [secret, new random.RandomPassword(`${name}-${secret}`, { length: 32, special: false }, { parent: this })]),
        ) as Record<GeneratedSecretName, random.RandomPassword>;
        this.values = Object.fromEntries(generatedSecretNames.map((secret) => [secret, pulumi.secret(passwords[secret].result)])) as Record<
            GeneratedSecretName,
            pulumi.Output<string>
        >;
        this.edgeAdminBcrypt = pulumi.secret(passwords["edge-admin"].bcryptHash);
        this.liteLlmMasterKey = pulumi.secret(pulumi.interpolate`sk-${passwords["litellm-master-key"].result}`);
        this.registerOutputs({});
    }
}
