/**
 * `npm run bench`: how long the program takes to start the way Pulumi's runner starts it, next to
 * the same program precompiled to JavaScript (the floor); the real engine's `pulumi preview`; and
 * how cost grows with the lab. Every figure comes from a fresh process. Prints figures only.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { generateLab } from "./lab";
import { engineStatus } from "./engine";
import { projectRuntime, root, start } from "./runner";

const floorDir = path.join(root, ".bench-floor");

/** The program compiled to plain JavaScript, with the files its modules read beside them. */
function buildFloor(): string {
    fs.rmSync(floorDir, { recursive: true, force: true });
    const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "--outDir", floorDir, "-p", "tsconfig.json"], { cwd: root, encoding: "utf8" });
    if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}`);
    for (const folder of ["components", "machines", "config"]) {
        for (const file of fs.readdirSync(path.join(root, folder), { recursive: true, encoding: "utf8" })) {
            const source = path.join(root, folder, file);
            if (fs.statSync(source).isFile() && !file.endsWith(".ts")) fs.copyFileSync(source, path.join(floorDir, folder, file));
        }
    }
    return path.join(floorDir, "index.js");
}

function startup(): void {
    const homelab = path.join(root, "Pulumi.homelab.yaml");
    const floorProgram = buildFloor();
    const asPulumiRunsIt = start(root, homelab, projectRuntime());
    const floor = start(floorProgram, homelab, { typescript: false, nodeargs: [] });
    fs.rmSync(floorDir, { recursive: true, force: true });
    console.log("start-up of the homelab stack, process start to last registration (one run each)");
    console.log(`  as Pulumi's runner starts it (Pulumi.yaml)  ${String(asPulumiRunsIt.ms).padStart(6)} ms  (${asPulumiRunsIt.registrations} registrations)`);
    console.log(`  precompiled JavaScript (the floor)           ${String(floor.ms).padStart(6)} ms`);
    console.log(`  ratio                                         ${(asPulumiRunsIt.ms / floor.ms).toFixed(2)}x`);
}

function scale(): void {
    const labs: Record<string, () => Record<string, unknown>> = {
        homelab: () => (YAML.parse(fs.readFileSync(path.join(root, "Pulumi.homelab.yaml"), "utf8")) as { config: Record<string, unknown> }).config,
        "lab-50": () => namespaced(generateLab(50)),
        "lab-100": () => namespaced(generateLab(100)),
    };
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "ai-platform-bench-"));
    console.log("\nlab       machines  resources       ms  peak MB  ms/machine");
    for (const [lab, config] of Object.entries(labs)) {
        const stack = config();
        const file = path.join(scratch, `${lab}.json`);
        fs.writeFileSync(file, JSON.stringify(stack));
        const run = start(root, file, projectRuntime());
        const machines = Object.keys(stack["ai-platform:machines"] as object).length;
        console.log(`${lab.padEnd(9)} ${String(machines).padStart(8)} ${String(run.registrations).padStart(10)} ${String(run.ms).padStart(8)} ${String(run.peakMb).padStart(8)} ${(run.ms / machines).toFixed(1).padStart(11)}`);
    }
    fs.rmSync(scratch, { recursive: true, force: true });
}

function namespaced(config: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(config).map(([key, value]) => [`ai-platform:${key}`, value]));
}

startup();
console.log(`\npulumi preview of the unchanged local stack: ${engineStatus(root)}`);
scale();
