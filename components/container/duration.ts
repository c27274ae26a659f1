/**
 * Docker healthcheck durations as the Docker provider reads them back: Go's Duration.String().
 * The provider stores what the daemon reports ("1m0s" for "60s"), so any other spelling shows up
 * as a change on every `pulumi up`.
 */
const unitNanos: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Nanoseconds in a Go duration string such as "90s", "1m30s" or "500ms"; throws on anything else. */
export function parseGoDuration(text: string): number {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
    if (text === "0") return 0;
    if (parts.length === 0 || parts.map((part) => part[0]).join("") !== text) {
        throw new Error(`"${text}" is not a duration such as 30s, 2m or 1h30m`);
    }
    return Math.round(parts.reduce((total, [, amount, unit]) => total + Number(amount) * unitNanos[unit], 0));
}

/** Go's spelling of a duration: "2m" -> "2m0s", "60s" -> "1m0s", "1h" -> "1h0m0s", "500ms" -> "500ms". */
export function goDuration(text: string): string {
    const nanos = parseGoDuration(text);
    if (nanos === 0) return "0s";
    if (nanos < 1e9) {
        const [amount, unit] = nanos < 1e3 ? [nanos, "ns"] : nanos < 1e6 ? [nanos / 1e3, "µs"] : [nanos / 1e6, "ms"];
        return `${trimFraction(amount)}${unit}`;
    }
    const hours = Math.floor(nanos / 3600e9);
    const minutes = Math.floor((nanos % 3600e9) / 60e9);
    const seconds = trimFraction((nanos % 60e9) / 1e9);
    if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
    if (minutes > 0) return `${minutes}m${seconds}s`;
    return `${seconds}s`;
}

function trimFraction(amount: number): string {
    return Number(amount.toFixed(9)).toString();
}
