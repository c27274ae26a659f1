import { z } from "zod";

/**
 * `monitoring.alerts`: where Alertmanager sends notifications. Each entry is one receiver of one
 * kind; several may be active at once. Secret leaves (urls, tokens, passwords) are taken out of
 * the parsed config by platform.ts and reach the program only as Pulumi secrets (load.ts).
 */

export const severities = ["critical", "warning"] as const;
export type Severity = (typeof severities)[number];

export const receiverTypes = ["slack", "discord", "telegram", "email", "ntfy", "webhook"] as const;
export type ReceiverType = (typeof receiverTypes)[number];

/** The secret fields of a receiver entry, by type. */
export const secretFields = ["url", "botToken", "password", "token"] as const;
export type SecretField = (typeof secretFields)[number];

const httpUrl = (example: string) =>
    z.url({ protocol: /^https?$/, error: `must be an http(s) URL such as ${example} (set it as a secret: pulumi config set --secret --path ...)` });

const common = {
    /** Which alerts this receiver gets: by the alert's `severity` label. */
    severities: z
        .array(z.enum(severities, { error: `must be one of ${severities.join(", ")}` }))
        .min(1, "must name at least one severity (critical, warning)")
        .default([...severities]),
    /** Also notify when an alert resolves. */
    sendResolved: z.boolean().default(true),
};

const slack = z.strictObject({
    type: z.literal("slack"),
    ...common,
    /** Incoming-webhook URL (secret). */
    url: httpUrl("https://hooks.slack.com/services/T000/B000/XXXX"),
    /** Overrides the webhook's default channel, such as #alerts. */
    channel: z.string().regex(/^[#@]?[\w.-]+$/, "must be a channel such as #alerts").optional(),
});

const discord = z.strictObject({
    type: z.literal("discord"),
    ...common,
    /** Channel webhook URL (secret). */
    url: httpUrl("https://discord.com/api/webhooks/123/abc"),
});

const telegram = z.strictObject({
    type: z.literal("telegram"),
    ...common,
    /** Bot token from @BotFather (secret). */
    botToken: z.string().regex(/^\d+:[\w-]+$/, "must be a bot token such as 123456:ABC-DEF (from @BotFather; set it as a secret)"),
    /** The chat to post to: a user's id, or a group's (negative). */
    chatId: z.number().int("must be a whole number (the chat id, negative for groups)").refine((id) => id !== 0, "must not be 0"),
    /** The Bot API server (a self-hosted one); default Telegram's. */
    apiUrl: httpUrl("https://api.telegram.org").optional(),
});

const email = z.strictObject({
    type: z.literal("email"),
    ...common,
    to: z.email({ error: "must be an e-mail address" }),
    from: z.email({ error: "must be an e-mail address" }),
    /** The SMTP server, `host:port`. */
    smarthost: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, "must be host:port of the SMTP server, such as smtp.example.com:587"),
    username: z.string().min(1, "must not be empty").optional(),
    /** SMTP password (secret); needs username. */
    password: z.string().min(1, "must not be empty").optional(),
    /** Refuse to send unless the server offers STARTTLS (keep true outside a trusted LAN). */
    requireTls: z.boolean().default(true),
});

const ntfy = z.strictObject({
    type: z.literal("ntfy"),
    ...common,
    /** The topic URL (secret: on a public server the topic name is the only access control). */
    url: httpUrl("https://ntfy.sh/my-lab-alerts").refine((value) => !value.includes("?"), "must be the topic URL without a query (the program adds ?template=alertmanager)"),
    /** An access token for a protected topic (secret). */
    token: z.string().min(1, "must not be empty").optional(),
});

const webhook = z.strictObject({
    type: z.literal("webhook"),
    ...common,
    /** Receives Alertmanager's own JSON (secret: webhook URLs usually carry a token). */
    url: httpUrl("https://example.com/alertmanager"),
});

export const alertReceiverSchema = z.discriminatedUnion("type", [slack, discord, telegram, email, ntfy, webhook], {
    error: `must have a type: one of ${receiverTypes.join(", ")}`,
});

export type AlertReceiverInput = z.output<typeof alertReceiverSchema>;

/** One entry without its secrets; whether an optional secret is set stays visible. */
type Plain<T> = T extends { type: "email" }
    ? Omit<T, SecretField> & { readonly hasPassword: boolean }
    : T extends { type: "ntfy" }
      ? Omit<T, SecretField> & { readonly hasToken: boolean }
      : Omit<T, SecretField>;

/** A receiver entry with its secret fields taken out: what rendered files and non-secret values may see. */
export type AlertReceiver = Plain<AlertReceiverInput>;

/** The secret fields of one entry; present where the entry's type has them. */
export type ReceiverCredentials = Partial<Record<SecretField, string>>;

/** Splits an entry into its plain part and its secrets. */
export function splitReceiver(entry: AlertReceiverInput): { receiver: AlertReceiver; credentials: ReceiverCredentials } {
    const plain: Record<string, unknown> = {};
    const credentials: ReceiverCredentials = {};
    for (const [key, value] of Object.entries(entry)) {
        if ((secretFields as readonly string[]).includes(key)) {
            if (typeof value === "string") credentials[key as SecretField] = value;
        } else plain[key] = value;
    }
    if (entry.type === "email") plain.hasPassword = entry.password !== undefined;
    if (entry.type === "ntfy") plain.hasToken = entry.token !== undefined;
    return { receiver: plain as AlertReceiver, credentials };
}

/** Alertmanager's notification timing, one set for every route. */
export const alertRoutingSchema = z
    .strictObject({
        /** How long a new group waits for more alerts before its first notification. */
        groupWait: z.string().regex(/^\d+(ms|s|m|h)$/, "must be a duration such as 30s or 1m").default("30s"),
        /** How long before a notification about new alerts of a group already notified. */
        groupInterval: z.string().regex(/^\d+(s|m|h)$/, "must be a duration such as 5m").default("5m"),
        /** How long before a still-firing group is notified again. */
        repeatInterval: z.string().regex(/^\d+(m|h|d|w)$/, "must be a duration such as 4h or 1d").default("4h"),
    })
    .prefault({});

interface MonitoringInput {
    readonly alerts: readonly AlertReceiverInput[];
    readonly alertWebhookUrl?: string;
}

/** Services that answer on a webhook URL but do not accept Alertmanager's JSON: what to write instead. */
const nativeServices: readonly { host: RegExp; type: ReceiverType; name: string }[] = [
    { host: /(^|\.)hooks\.slack\.com$/, type: "slack", name: "a Slack incoming webhook" },
    { host: /(^|\.)(discord|discordapp)\.com$/, type: "discord", name: "a Discord webhook" },
    { host: /(^|\.)ntfy\.sh$/, type: "ntfy", name: "an ntfy topic" },
];

const moveCommand = (type: ReceiverType, index: number) =>
    `pulumi config rm --path monitoring.alertWebhookUrl && pulumi config set --path 'monitoring.alerts[${index}].type' ${type} && pulumi config set --secret --path 'monitoring.alerts[${index}].url' <the same URL>`;

/**
 * Problems with `monitoring.alerts` and the legacy `monitoring.alertWebhookUrl` that one field's
 * schema cannot see. Messages never quote a secret value: a URL is named by its service only.
 */
export function alertIssues(monitoring: MonitoringInput): { path: string; message: string }[] {
    const issues: { path: string; message: string }[] = [];
    monitoring.alerts.forEach((entry, index) => {
        if (entry.type === "email" && entry.password !== undefined && entry.username === undefined) {
            issues.push({ path: `monitoring.alerts[${index}].username`, message: "is required with password (the SMTP login name)" });
        }
        const repeated = entry.severities.filter((severity, i) => entry.severities.indexOf(severity) !== i);
        if (repeated.length > 0) issues.push({ path: `monitoring.alerts[${index}].severities`, message: `lists ${repeated.join(", ")} more than once` });
    });
    const legacy = monitoring.alertWebhookUrl;
    if (legacy !== undefined) {
        const host = new URL(legacy).hostname;
        const service = nativeServices.find((s) => s.host.test(host));
        if (service !== undefined) {
            issues.push({
                path: "monitoring.alertWebhookUrl",
                message: `is ${service.name} URL, which does not accept Alertmanager's webhook JSON (no alert would arrive); use a receiver of type ${service.type} instead: ${moveCommand(service.type, monitoring.alerts.length)}`,
            });
        }
    }
    return issues;
}

/** The legacy key still works (as a webhook receiver for Alertmanager's JSON); say where it is going. */
export function alertWarnings(monitoring: MonitoringInput): { path: string; message: string }[] {
    if (monitoring.alertWebhookUrl === undefined) return [];
    return [
        {
            path: "monitoring.alertWebhookUrl",
            message: `is kept as a receiver of type webhook, which posts Alertmanager's own JSON (right for a bridge or a service that reads it; Slack, Discord, Telegram, e-mail and ntfy have their own types); to silence this, move it: ${moveCommand("webhook", monitoring.alerts.length)}`,
        },
    ];
}

/** Every receiver, the legacy webhook last, with its secrets apart. */
export function receiversOf(monitoring: MonitoringInput): { receivers: AlertReceiver[]; credentials: ReceiverCredentials[] } {
    const entries: AlertReceiverInput[] = [...monitoring.alerts];
    if (monitoring.alertWebhookUrl !== undefined) {
        entries.push({ type: "webhook", url: monitoring.alertWebhookUrl, severities: [...severities], sendResolved: true });
    }
    const split = entries.map(splitReceiver);
    return { receivers: split.map((s) => s.receiver), credentials: split.map((s) => s.credentials) };
}
