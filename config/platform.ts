import { z } from "zod";
import { AlertReceiver, ReceiverCredentials, receiversOf } from "./alerts";
import { defaultImages, Images, postgresImageIssues } from "./images";
import { ConfigIssue, crossFieldIssues, crossFieldWarnings } from "./rules";
import { ParsedPlatform, platformSchema } from "./schema";
import { place, portConflicts } from "../machines/placement";

/** Values the user set as secrets; they leave validation only as Pulumi secrets (see load.ts). */
export interface UserSecretValues {
    readonly sshPrivateKey?: string;
    readonly fallbackApiKey?: string;
    /** The secrets of `monitoring.alerts`, by the index of the receiver in `monitoring.alerts` (the legacy webhook last). */
    readonly alertCredentials: readonly ReceiverCredentials[];
    /** ACME DNS provider credentials, by the variable name lego reads. */
    readonly acmeCredentials?: Readonly<Record<string, string>>;
}

/**
 * The validated platform config with every default applied and every secret value taken
 * out, so that nothing derived from it (placement, rendered files, outputs) can carry one.
 */
export type PlatformConfig = Omit<ParsedPlatform, "images" | "ssh" | "fallback" | "monitoring" | "edge"> & {
    readonly images: Images;
    readonly ssh: Omit<ParsedPlatform["ssh"], "privateKey"> & { readonly hasPrivateKey: boolean };
    readonly fallback?: Omit<NonNullable<ParsedPlatform["fallback"]>, "apiKey">;
    /** `alerts` holds every receiver without its secrets; the legacy `alertWebhookUrl` is its last webhook entry. */
    readonly monitoring: Omit<ParsedPlatform["monitoring"], "alertWebhookUrl" | "alerts"> & { readonly alerts: readonly AlertReceiver[] };
    readonly edge: Omit<ParsedPlatform["edge"], "acme"> & { readonly acme?: Omit<NonNullable<ParsedPlatform["edge"]["acme"]>, "credentials"> };
};

export type ValidationResult =
    | { readonly ok: true; readonly config: PlatformConfig; readonly secrets: UserSecretValues; readonly warnings: readonly ConfigIssue[] }
    | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

function formatPath(path: readonly PropertyKey[]): string {
    return path.reduce<string>((acc, part) => {
        if (typeof part === "number") return `${acc}[${part}]`;
        return acc === "" ? String(part) : `${acc}.${String(part)}`;
    }, "");
}

/** Keys whose values may be credentials: their values are never repeated in an error. */
const mayBeSecret = /key|token|password|secret|url|credential|auth/i;

/** The bad value, as an error can repeat it: scalars in full, nothing of a key that may hold a secret. */
function describeInput(path: string, input: unknown): string {
    if (mayBeSecret.test(path)) return "a value not repeated here";
    if (input === null) return "null";
    if (Array.isArray(input)) return "a list";
    if (typeof input === "object") return "an object";
    return JSON.stringify(input);
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
    return error.issues.flatMap((issue): ConfigIssue[] => {
        const path = formatPath(issue.path);
        if (issue.code === "unrecognized_keys") {
            return issue.keys.map((key) => ({ path: path === "" ? key : `${path}.${key}`, message: "is not a known key (check its spelling)" }));
        }
        if (issue.code === "invalid_type" && issue.input === undefined) return [{ path, message: "is required" }];
        return [{ path: path === "" ? "(root)" : path, message: `${issue.message} (got ${describeInput(path, issue.input)})` }];
    });
}

/** Validates raw `ai-platform:*` config values (key without namespace -> parsed JSON). Pure. */
export function validatePlatform(raw: Readonly<Record<string, unknown>>): ValidationResult {
    // reportInput: without it no issue carries its input, and every wrong type would read "is required" below.
    const parsed = platformSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
    const issues = crossFieldIssues(parsed.data);
    if (issues.length > 0) return { ok: false, issues };

    const { ssh, fallback, monitoring, images, edge, ...rest } = parsed.data;
    const { privateKey, ...sshRest } = ssh;
    const { alertWebhookUrl, alerts, ...monitoringRest } = monitoring;
    const { receivers, credentials: alertCredentials } = receiversOf({ alerts, alertWebhookUrl });
    const config: PlatformConfig = {
        ...rest,
        images: { ...defaultImages, ...stripUndefined(images) },
        ssh: { ...sshRest, hasPrivateKey: privateKey !== undefined },
        fallback: fallback && { model: fallback.model, apiBase: fallback.apiBase },
        monitoring: { ...monitoringRest, alerts: receivers },
        edge: { adminUser: edge.adminUser, acme: edge.acme && { email: edge.acme.email, dnsProvider: edge.acme.dnsProvider, caServer: edge.acme.caServer } },
    };
    const imageIssues = postgresImageIssues(config.images);
    if (imageIssues.length > 0) return { ok: false, issues: imageIssues };
    const conflicts = portConflicts(place(config)).map(({ machine, port, services }) => ({
        path: "ports",
        message: `${services.join(" and ")} both publish ${port} on ${machine}: give one of them another port under ports.<service> (or ports.<service>.<port> for a named extra port)`,
    }));
    if (conflicts.length > 0) return { ok: false, issues: conflicts };
    return { ok: true, config, warnings: crossFieldWarnings(parsed.data), secrets: { sshPrivateKey: privateKey, fallbackApiKey: fallback?.apiKey, alertCredentials, acmeCredentials: edge.acme?.credentials } };
}

function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** One line per problem, each naming its config path. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
    const lines = issues.map((issue) => `  ai-platform:${issue.path}: ${issue.message}`);
    return `invalid stack config (${issues.length} problem${issues.length === 1 ? "" : "s"}); nothing was deployed:\n${lines.join("\n")}`;
}
