import * as fs from "node:fs";
import { parse } from "yaml";
import { formatIssues, PlatformConfig, validatePlatform } from "../../config/platform";

/** `{secure: ...}` leaves (values set with `pulumi config set --secret`) become a placeholder: scripts never decrypt. */
function withoutSecureValues(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(withoutSecureValues);
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (Object.keys(record).length === 1 && typeof record.secure === "string") return "[secret]";
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, withoutSecureValues(v)]));
    }
    return value;
}

/** The validated config of a `Pulumi.<stack>.yaml` file, or an Error listing each problem with its path. */
export function loadStackFile(file: string): PlatformConfig {
    const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    const raw = Object.fromEntries(
        Object.entries(doc?.config ?? {})
            .filter(([key]) => key.startsWith("ai-platform:"))
            .map(([key, value]) => [key.slice("ai-platform:".length), withoutSecureValues(value)]),
    );
    const result = validatePlatform(raw);
    if (!result.ok) throw new Error(formatIssues(result.issues));
    return result.config;
}
