/**
 * `npm run bench`: evaluates the real program under Pulumi's mocks for the homelab stack and
 * for generated labs of 50 and 100 machines, each in a fresh process, and prints resources,
 * milliseconds and peak memory. Cost should grow about linearly with the number of machines.
 */
import { spawnSync } from "node:child_process";
import { generateLab } from "../test/harness/lab";
import { readStackConfig, runProgram, StackConfig } from "../test/harness/program";

const labs: Record<string, () => StackConfig> = {
    homelab: () => readStackConfig("Pulumi.homelab.yaml"),
    "lab-50": () => generateLab(50),
    "lab-100": () => generateLab(100),
};

interface Measurement {
    readonly lab: string;
    readonly machines: number;
    readonly resources: number;
    readonly ms: number;
    readonly peakMb: number;
}

async function measure(lab: string): Promise<Measurement> {
    const config = labs[lab]();
    const start = process.hrtime.bigint();
    const run = await runProgram(config);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (run.error) throw run.error;
    return {
        lab,
        machines: Object.keys(config.machines as object).length,
        resources: run.resources.length,
        ms: Math.round(ms),
        peakMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
}

function main(): void {
    const rows: Measurement[] = Object.keys(labs).map((lab) => {
        const child = spawnSync(process.execPath, [...process.execArgv, __filename, "--one", lab], { encoding: "utf8" });
        if (child.status !== 0) {
            process.stderr.write(child.stderr);
            process.exit(1);
        }
        return JSON.parse(child.stdout.trim().split("\n").pop() ?? "") as Measurement;
    });
    console.log("lab       machines  resources       ms  peak MB  ms/machine");
    for (const row of rows) {
        console.log(
            `${row.lab.padEnd(9)} ${String(row.machines).padStart(8)} ${String(row.resources).padStart(10)} ${String(row.ms).padStart(8)} ${String(row.peakMb).padStart(8)} ${(row.ms / row.machines).toFixed(1).padStart(11)}`,
        );
    }
}

const one = process.argv.indexOf("--one");
if (one >= 0) {
    measure(process.argv[one + 1]).then(
        (row) => console.log(JSON.stringify(row)),
        (error: Error) => {
            console.error(error.message);
            process.exit(1);
        },
    );
} else {
    main();
}
