/** Stack config keys without the `ai-platform:` namespace, as a stack file holds them. */
export type StackConfig = Record<string, unknown>;

/**
 * A generated lab of `size` machines (at least 6) in the homelab's shape: one machine per
 * singleton role, then inference GPU nodes, tools nodes and workstations in turn.
 */
export function generateLab(size: number): StackConfig {
    if (size < 6) throw new Error("a generated lab needs at least 6 machines");
    const machines: Record<string, object> = {};
    const address = (i: number) => `10.20.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const fixed: [string, string[]][] = [
        ["db", ["database"]],
        ["replica", ["database-replica", "tools"]],
        ["edge", ["edge"]],
        ["monitor", ["monitoring"]],
        ["gateway", ["inference", "gateway", "webui"]],
    ];
    fixed.forEach(([name, roles], i) => {
        machines[name] = { address: address(i), roles, ...(roles.includes("inference") ? { gpu: { vendor: "nvidia", vramGb: 24 } } : {}) };
    });
    const inference: string[] = ["gateway"];
    for (let i = fixed.length; i < size; i++) {
        const kind = i % 3;
        const name = `node${i}`;
        if (kind === 0) {
            machines[name] = { address: address(i), roles: ["inference"], gpu: i % 6 === 0 ? { vendor: "amd", vramGb: 48 } : { vendor: "nvidia", vramGb: 24 } };
            inference.push(name);
        } else {
            machines[name] = { address: address(i), roles: kind === 1 ? ["tools"] : ["workstation"] };
        }
    }
    return {
        domain: "bench.internal",
        lanCidr: "10.20.0.0/16",
        ssh: { user: "deploy" },
        nas: { address: "10.20.255.1", exports: { models: "/mnt/models", backups: "/mnt/backups" } },
        machines,
        models: [
            { name: "llama3.1:8b", sizeGb: 5, nodes: inference },
            { name: "qwen2.5-coder:14b", sizeGb: 9, nodes: inference.filter((_, i) => i % 2 === 0) },
        ],
    };
}
