import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

export const root = path.resolve(__dirname, "..", "..");
const child = path.join(__dirname, "startup-child.js");

/** What one start of the program by Pulumi's runner, under mocks, reports. */
export interface Start {
    readonly ms: number;
    readonly registrations: number;
    /** Registrations of real resources (not components or the stack). */
    readonly customResources: number;
    readonly peakMb: number;
}

/** How the language host starts node for this project. */
export interface Runtime {
    readonly typescript: boolean;
    readonly nodeargs: readonly string[];
}

/** The runtime options the language host reads from Pulumi.yaml (typescript defaults to true). */
export function projectRuntime(): Runtime {
    const project = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { runtime: { options?: { typescript?: boolean; nodeargs?: string } } };
    const options = project.runtime.options ?? {};
    return { typescript: options.typescript ?? true, nodeargs: (options.nodeargs ?? "").split(/\s+/).filter(Boolean) };
}

/** Runs `program` once through Pulumi's runner under mocks; stackConfig is a stack file or a JSON config. */
export function runOnce(program: string, stackConfig: string, runtime: Runtime): { status: number | null; stdout: string; stderr: string } {
    return spawnSync(process.execPath, [...runtime.nodeargs, child, program, stackConfig], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, PULUMI_NODEJS_TYPESCRIPT: String(runtime.typescript) },
    });
}

/** The figures a run printed, or undefined when it printed none. */
export function figures(stdout: string): Start | undefined {
    const line = stdout.split("\n").find((l) => l.startsWith("{"));
    return line === undefined ? undefined : (JSON.parse(line) as Start);
}

/** One start of `program`, as figures; throws with the runner's output when it fails. */
export function start(program: string, stackConfig: string, runtime: Runtime): Start {
    const run = runOnce(program, stackConfig, runtime);
    const result = figures(run.stdout);
    if (run.status !== 0 || result === undefined) throw new Error(`the program did not start:\n${run.stderr}`);
    return result;
}
