/**
 * What Grafana Alloy v1.11 accepts in the components our config uses, from the reference pages
 * docs/sources/reference/components/{discovery,loki}/*.md and the `Arguments` structs (alloy tags)
 * in internal/component/loki/source/docker/docker.go. There is no Alloy binary here to validate a
 * config, so the tests hold the rendered file against this table.
 */
export interface ComponentSchema {
    /** Arguments of the component's top-level body, each with whether it is required. */
    readonly arguments: Readonly<Record<string, boolean>>;
    /** Blocks the component takes, each with its arguments (required or not). */
    readonly blocks: Readonly<Record<string, Readonly<Record<string, boolean>>>>;
    /** Fields other components may reference as `<component>.<label>.<field>`. */
    readonly exports: readonly string[];
}

export const alloyComponents: Readonly<Record<string, ComponentSchema>> = {
    logging: { arguments: { level: false, format: false, write_to: false }, blocks: {}, exports: [] },
    "discovery.docker": {
        arguments: { host: true, refresh_interval: false, port: false, host_networking_host: false, match_first_network: false },
        blocks: { filter: { name: true, values: true } },
        exports: ["targets"],
    },
    "discovery.relabel": {
        arguments: { targets: true },
        blocks: { rule: { source_labels: false, separator: false, regex: false, modulus: false, target_label: false, replacement: false, action: false } },
        exports: ["output", "rules"],
    },
    "loki.source.docker": {
        arguments: { host: true, targets: true, forward_to: true, labels: false, relabel_rules: false, refresh_interval: false },
        blocks: {},
        exports: [],
    },
    "loki.write": {
        arguments: { external_labels: false, max_streams: false },
        blocks: { endpoint: { url: true, name: false, batch_wait: false, batch_size: false, remote_timeout: false, headers: false, tenant_id: false } },
        exports: ["receiver"],
    },
};

/** One component (or the unlabelled `logging` block) of a rendered config. */
export interface AlloyBlock {
    readonly component: string;
    readonly label?: string;
    readonly arguments: Record<string, string>;
    readonly blocks: { readonly name: string; readonly arguments: Record<string, string> }[];
}

/**
 * Reads the line-per-statement layout the renderer writes: `name "label" {`, `attr = value`,
 * nested `block {`, and `}` each on its own line. Throws on anything else, so a layout change
 * shows up as a failing test rather than as a silently skipped check.
 */
export function parseAlloy(config: string): AlloyBlock[] {
    const blocks: AlloyBlock[] = [];
    let current: AlloyBlock | undefined;
    let nested: { name: string; arguments: Record<string, string> } | undefined;
    for (const [index, raw] of config.split("\n").entries()) {
        const line = raw.trim();
        if (line === "") continue;
        const open = /^([a-z_][a-z0-9_.]*)(?: "([^"]+)")? \{$/.exec(line);
        const attribute = /^([a-z_][a-z0-9_]*)\s*=\s*(.+)$/.exec(line);
        if (open && current === undefined) {
            current = { component: open[1], label: open[2], arguments: {}, blocks: [] };
        } else if (open && nested === undefined && open[2] === undefined) {
            nested = { name: open[1], arguments: {} };
        } else if (attribute && current) {
            (nested ?? current).arguments[attribute[1]] = attribute[2];
        } else if (line === "}" && nested && current) {
            current.blocks.push(nested);
            nested = undefined;
        } else if (line === "}" && current) {
            blocks.push(current);
            current = undefined;
        } else {
            throw new Error(`line ${index + 1} is not in the expected layout: ${raw}`);
        }
    }
    if (current) throw new Error(`block ${current.component} is not closed`);
    return blocks;
}

/** Every problem of a parsed config against the schema table: unknown components, arguments or blocks, missing required ones, dangling references. */
export function alloyProblems(blocks: readonly AlloyBlock[]): string[] {
    const problems: string[] = [];
    const declared = new Map(blocks.map((block) => [`${block.component}.${block.label ?? ""}`, block.component]));
    for (const block of blocks) {
        const name = `${block.component} "${block.label ?? ""}"`;
        const schema = alloyComponents[block.component];
        if (schema === undefined) {
            problems.push(`${name}: unknown component`);
            continue;
        }
        problems.push(...argumentProblems(name, block.arguments, schema.arguments));
        for (const nested of block.blocks) {
            const nestedSchema = schema.blocks[nested.name];
            if (nestedSchema === undefined) problems.push(`${name}: unknown block ${nested.name}`);
            else problems.push(...argumentProblems(`${name} > ${nested.name}`, nested.arguments, nestedSchema));
        }
        for (const value of [...Object.values(block.arguments), ...block.blocks.flatMap((nested) => Object.values(nested.arguments))]) {
            const code = value.replace(/"(?:[^"\\]|\\.)*"/g, '""');
            for (const reference of code.match(/\b[a-z_]+(?:\.[a-z_]+)+\b/g) ?? []) {
                const parts = reference.split(".");
                const field = parts[parts.length - 1];
                const target = declared.get(parts.slice(0, -2).join(".") + "." + parts[parts.length - 2]);
                if (target === undefined) problems.push(`${name}: ${reference} names no declared component`);
                else if (!alloyComponents[target]?.exports.includes(field)) problems.push(`${name}: ${target} exports no ${field}`);
            }
        }
    }
    return problems;
}

function argumentProblems(where: string, given: Record<string, string>, allowed: Readonly<Record<string, boolean>>): string[] {
    const unknown = Object.keys(given).filter((key) => !(key in allowed)).map((key) => `${where}: unknown argument ${key}`);
    const missing = Object.entries(allowed).filter(([key, required]) => required && !(key in given)).map(([key]) => `${where}: missing ${key}`);
    return [...unknown, ...missing];
}
