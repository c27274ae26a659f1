import { stringify } from "yaml";
import { AlertReceiver, ReceiverCredentials, SecretField, Severity, severities } from "../../config/alerts";

export const alertmanagerPaths = {
    config: "/etc/alertmanager/alertmanager.yml",
    data: "/alertmanager",
    /** One file per secret of a receiver (`*_file` options), uploaded as secrets. */
    secrets: "/etc/alertmanager/secrets",
} as const;

/** Where the receivers' secrets go: files named in the config (Alertmanager 0.27+), or inline (older). */
export type CredentialSource = { readonly files: string } | { readonly inline: readonly ReceiverCredentials[] };

export interface AlertRouting {
    readonly groupWait: string;
    readonly groupInterval: string;
    readonly repeatInterval: string;
}

/** ntfy's priority for each severity (https://docs.ntfy.sh/publish/#message-priority). */
export const ntfyPriority: Readonly<Record<Severity, string>> = { critical: "urgent", warning: "default" };

/**
 * Alertmanager added `*_file` for every secret this renderer uses by 0.27 (discord's
 * webhook_url_file came last); 0.25 (Debian 12) only knows slack's api_url_file. A version that
 * cannot be read (a digest) is taken as recent, like the pinned default.
 */
export function credentialFilesSupported(image: string): boolean {
    const tag = image.includes("@") ? undefined : image.slice(image.lastIndexOf("/") + 1).split(":")[1];
    const version = tag?.match(/^v?(\d+)\.(\d+)/);
    if (version === null || version === undefined) return true;
    return Number(version[1]) > 0 || Number(version[2]) >= 27;
}

/** Slack's message text: each alert's summary (every platform rule has one). */
export const slackText = "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}";

/** A secret file of the credential-file layout: its path, and its content from the receiver's secrets. */
export interface AlertmanagerSecretFile {
    readonly path: string;
    /** Index of the receiver whose secrets fill it. */
    readonly receiver: number;
    readonly content: (credentials: ReceiverCredentials) => string;
}

function required(credentials: ReceiverCredentials, field: SecretField, index: number): string {
    const value = credentials[field];
    if (value === undefined) throw new Error(`alert receiver ${index} has no ${field}`);
    return value;
}

/** ntfy reads Alertmanager's JSON with its built-in alertmanager template; the priority comes from the query. */
function ntfyUrl(topicUrl: string, severity: Severity): string {
    return `${topicUrl}?template=alertmanager&priority=${ntfyPriority[severity]}`;
}

/** A secret of one receiver for one severity: the file it goes to, and its value from the receiver's secrets. */
interface ReceiverSecret {
    readonly file: string;
    readonly value: (credentials: ReceiverCredentials) => string;
}

/**
 * The secrets a receiver has, by role: `main` (URL, bot token or SMTP password) and `token`
 * (ntfy's access token); an optional one that is not set is absent. One file per value, so a URL
 * that differs by severity (ntfy's priority) has one file per severity.
 */
function secretsOf(receiver: AlertReceiver, index: number, severity: Severity): { main?: ReceiverSecret; token?: ReceiverSecret } {
    const base = `${index}-${receiver.type}`;
    switch (receiver.type) {
        case "ntfy":
            return {
                main: { file: `${base}-url-${severity}`, value: (c) => ntfyUrl(required(c, "url", index), severity) },
                token: receiver.hasToken ? { file: `${base}-token`, value: (c) => required(c, "token", index) } : undefined,
            };
        case "telegram":
            return { main: { file: `${base}-bot-token`, value: (c) => required(c, "botToken", index) } };
        case "email":
            return { main: receiver.hasPassword ? { file: `${base}-password`, value: (c) => required(c, "password", index) } : undefined };
        default:
            return { main: { file: `${base}-url`, value: (c) => required(c, "url", index) } };
    }
}

/** The secret files the credential-file layout needs (none for an absent optional secret). */
export function alertmanagerSecretFiles(receivers: readonly AlertReceiver[], directory: string): AlertmanagerSecretFile[] {
    const files = new Map<string, AlertmanagerSecretFile>();
    receivers.forEach((receiver, index) => {
        for (const severity of receiver.severities) {
            const { main, token } = secretsOf(receiver, index, severity);
            for (const secret of [main, token]) {
                if (secret !== undefined) files.set(secret.file, { path: `${directory}/${secret.file}`, receiver: index, content: secret.value });
            }
        }
    });
    return [...files.values()];
}

/** `{<name>: value}` inline, or `{<name>_file: path}`. */
function secretOption(source: CredentialSource, name: string, file: string, value: () => string): Record<string, string> {
    return "files" in source ? { [`${name}_file`]: `${source.files}/${file}` } : { [name]: value() };
}

/** One receiver entry's integration config for one severity, under its Alertmanager key. */
function integration(receiver: AlertReceiver, index: number, severity: Severity, source: CredentialSource): [string, Record<string, unknown>] {
    const credentials = "inline" in source ? (source.inline[index] ?? {}) : {};
    const { main, token } = secretsOf(receiver, index, severity);
    const option = (name: string, secret: ReceiverSecret | undefined) => (secret === undefined ? {} : secretOption(source, name, secret.file, () => secret.value(credentials)));
    const resolved = { send_resolved: receiver.sendResolved };
    switch (receiver.type) {
        case "slack":
            // Alertmanager's default Slack text is empty: the message would carry the title only, not what is wrong.
            return ["slack_configs", { ...resolved, ...option("api_url", main), ...(receiver.channel === undefined ? {} : { channel: receiver.channel }), text: slackText }];
        case "discord":
            return ["discord_configs", { ...resolved, ...option("webhook_url", main) }];
        case "telegram":
            return ["telegram_configs", { ...resolved, ...(receiver.apiUrl === undefined ? {} : { api_url: receiver.apiUrl }), ...option("bot_token", main), chat_id: receiver.chatId }];
        case "email":
            return [
                "email_configs",
                {
                    ...resolved,
                    to: receiver.to,
                    from: receiver.from,
                    smarthost: receiver.smarthost,
                    require_tls: receiver.requireTls,
                    ...(receiver.username === undefined ? {} : { auth_username: receiver.username }),
                    ...option("auth_password", main),
                },
            ];
        case "ntfy": {
            const auth = token === undefined ? {} : { http_config: { authorization: { type: "Bearer", ...option("credentials", token) } } };
            return ["webhook_configs", { ...resolved, ...option("url", main), ...auth }];
        }
        case "webhook":
            return ["webhook_configs", { ...resolved, ...option("url", main) }];
    }
}

/** The receiver for one severity: every entry that takes it, grouped by integration. */
function severityReceiver(receivers: readonly AlertReceiver[], severity: Severity, source: CredentialSource): Record<string, unknown> {
    const configs: Record<string, Record<string, unknown>[]> = {};
    receivers.forEach((receiver, index) => {
        if (!receiver.severities.includes(severity)) return;
        const [key, config] = integration(receiver, index, severity, source);
        (configs[key] ??= []).push(config);
    });
    return { name: severity, ...configs };
}

/**
 * alertmanager.yml. Two receivers, `critical` and `warning`, each holding every configured
 * integration that takes that severity (none: the alert shows in the UI and goes nowhere).
 * Alerts labelled severity=warning go to `warning`; every other alert, an unlabelled one
 * included, to `critical`. Secrets are referenced as files (`*_file`, the layout
 * `alertmanagerSecretFiles` writes) or written inline, where the whole file must be a secret.
 * Valid for Alertmanager 0.25 (inline) and 0.28 (both).
 */
export function renderAlertmanagerConfig(receivers: readonly AlertReceiver[], routing: AlertRouting, source: CredentialSource): string {
    return stringify(
        {
            route: {
                receiver: "critical",
                group_by: ["alertname", "machine", "service"],
                group_wait: routing.groupWait,
                group_interval: routing.groupInterval,
                repeat_interval: routing.repeatInterval,
                routes: [{ receiver: "warning", matchers: ["severity = warning"] }],
            },
            inhibit_rules: [
                {
                    source_matchers: ["severity = critical"],
                    target_matchers: ["severity = warning"],
                    equal: ["alertname", "machine", "service"],
                },
            ],
            receivers: severities.map((severity) => severityReceiver(receivers, severity, source)),
        },
        { lineWidth: 0 },
    );
}
