import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Catalog, buildCatalog } from "../../components/catalog/catalog";
import { PlatformConfig, validatePlatform } from "../../config/platform";
import { place } from "../../machines/placement";
import { readStackConfig, StackConfig } from "../harness/program";

export const homelab = readStackConfig("Pulumi.homelab.yaml");

/** The homelab stack with one machine's settings changed. */
export function withMachine(name: string, change: Record<string, unknown>): StackConfig {
    const machines = homelab.machines as Record<string, Record<string, unknown>>;
    return { ...homelab, machines: { ...machines, [name]: { ...machines[name], ...change } } };
}

/** The homelab stack with one machine disabled (config drops it from the models it served). */
export function withDisabled(name: string): StackConfig {
    return withMachine(name, { enabled: false });
}

export function validated(config: StackConfig): PlatformConfig {
    const result = validatePlatform(config);
    if (!result.ok) throw new Error(`invalid test config: ${JSON.stringify(result.issues)}`);
    return result.config;
}

export function catalogOf(config: StackConfig): Catalog {
    const platform = validated(config);
    return buildCatalog(place(platform), platform.domain);
}

/** Writes files (relative path -> content) into a fresh temp dir and returns it. */
export function writeTree(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ai-monitoring-"));
    for (const [relative, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
        fs.writeFileSync(path.join(dir, relative), content);
    }
    return dir;
}

/** Runs a real tool (promtool, amtool) in `cwd`; its exit status and everything it printed. */
export function runTool(command: string, args: string[], cwd: string): { status: number | null; output: string } {
    const result = spawnSync(command, args, { cwd, encoding: "utf8" });
    if (result.error) throw result.error;
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
