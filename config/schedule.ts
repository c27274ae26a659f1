/**
 * The backup schedule (go-cron, robfig/cron v3 with optional seconds: a 5- or 6-field cron
 * expression, `@yearly`..`@hourly`, or `@every <duration>`), read for one thing: the longest gap
 * between two runs, so that an alert can tell a missed backup from one that is not due yet. For a
 * cron expression it is an upper bound: the period of the coarsest restricted field (`30 2 * * *`:
 * a day), or N of its unit for a plain step (`0 *\/6 * * *`: 6 hours). Pure.
 */

const descriptors: Readonly<Record<string, number>> = {
    "@yearly": 366 * 86400,
    "@annually": 366 * 86400,
    "@monthly": 31 * 86400,
    "@weekly": 7 * 86400,
    "@daily": 86400,
    "@midnight": 86400,
    "@hourly": 3600,
};

const durationUnits: Readonly<Record<string, number>> = { h: 3600, m: 60, s: 1, ms: 0.001 };

/** A Go duration such as `6h`, `1h30m` or `90s`, in seconds; undefined when it is not one. */
function goDurationSeconds(text: string): number | undefined {
    if (!/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(text)) return undefined;
    let total = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) total += Number(amount) * durationUnits[unit];
    return total > 0 ? total : undefined;
}

const cronField = /^(\*|\?|\d+(-\d+)?(\/\d+)?|\*\/\d+|[A-Za-z]{3})(,(\d+(-\d+)?(\/\d+)?|[A-Za-z]{3}))*$/;

/** The longest time between two runs of `schedule`, in seconds; undefined when go-cron would not accept it. */
export function scheduleIntervalSeconds(schedule: string): number | undefined {
    const text = schedule.trim();
    if (text.startsWith("@every ")) return goDurationSeconds(text.slice("@every ".length).trim());
    if (text.startsWith("@")) return descriptors[text];
    const fields = text.split(/\s+/);
    if (fields.length !== 5 && fields.length !== 6) return undefined;
    if (!fields.every((field) => cronField.test(field))) return undefined;
    // [seconds], minutes, hours, day of month, month, day of week: the unit each field repeats in.
    const withSeconds = fields.length === 6 ? fields : ["0", ...fields];
    const [, , , dom, month, dow] = withSeconds;
    const free = (field: string) => field === "*" || field === "?" || field === "*/1";
    if (!free(month)) return 366 * 86400;
    if (!free(dow)) return 7 * 86400;
    if (!free(dom)) return 31 * 86400;
    const periods: [string, number][] = [
        [withSeconds[2], 86400],
        [withSeconds[1], 3600],
        [withSeconds[0], 60],
    ];
    for (const [field, period] of periods) {
        if (free(field)) continue;
        const step = /^\*\/(\d+)$/.exec(field);
        return step === null ? period : Math.min(period, Number(step[1]) * (period / (period === 86400 ? 24 : 60)));
    }
    return 1;
}
