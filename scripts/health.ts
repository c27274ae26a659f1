// npm run health -- [--outputs FILE] [--stack NAME] [--machine NAME] [--timeout-ms N] [--json]
// Probes every services[*].healthUrl of the stack outputs concurrently.
// Exit 0: all healthy; 1: any unhealthy; 2: the outputs (or the arguments) cannot be used.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { formatTable, parseTargets, probe } from "./ops/health-check";

class UsageError extends Error {}

const usage = "usage: npm run health -- [--outputs FILE] [--stack NAME] [--machine NAME] [--timeout-ms N] [--json]";

function options(argv: string[]) {
    let values;
    try {
        values = parseArgs({
            args: argv,
            options: {
                outputs: { type: "string" },
                stack: { type: "string" },
                machine: { type: "string" },
                "timeout-ms": { type: "string", default: "3000" },
                json: { type: "boolean", default: false },
            },
        }).values;
    } catch (error) {
        throw new UsageError(`${(error as Error).message}\n${usage}`);
    }
    const timeoutMs = Number(values["timeout-ms"]);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout-ms must be a positive whole number of milliseconds\n${usage}`);
    return { outputs: values.outputs, stack: values.stack, machine: values.machine, timeoutMs, json: values.json };
}

/** `pulumi stack output --json` from the pinned CLI (npx pulumi, or $PULUMI), or the file given with --outputs. */
async function readOutputs(file: string | undefined, stack: string | undefined): Promise<string> {
    if (file !== undefined) {
        try {
            return await readFile(file, "utf8");
        } catch (error) {
            throw new UsageError(`cannot read the outputs file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        }
    }
    // PULUMI names another CLI command, as for the shell scripts (e.g. a pulumi on PATH).
    const [cli, ...cliArgs] = (process.env.PULUMI ?? "npx --no-install pulumi").split(/\s+/).filter((part) => part !== "");
    const args = [...cliArgs, "stack", "output", "--json", ...(stack === undefined ? [] : ["--stack", stack])];
    return new Promise((resolve, reject) => {
        execFile(cli, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
            if (error === null) resolve(stdout);
            else reject(new UsageError(`\`pulumi stack output --json\` failed: ${stderr.trim() || error.message}\n(select a stack with --stack, or pass --outputs FILE)`));
        });
    });
}

async function main(): Promise<number> {
    const opts = options(process.argv.slice(2));
    const parsed = parseTargets(await readOutputs(opts.outputs, opts.stack));
    if (!parsed.ok) throw new UsageError(parsed.error);
    let targets = parsed.targets;
    if (opts.machine !== undefined) {
        const known = [...new Set(targets.map((t) => t.machine))].sort();
        targets = targets.filter((t) => t.machine === opts.machine);
        if (targets.length === 0) throw new UsageError(`no services on machine "${opts.machine}" (machines: ${known.join(", ")})`);
    }
    const results = await Promise.all(targets.map((target) => probe(target, opts.timeoutMs)));
    process.stdout.write(opts.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatTable(results)}\n`);
    return results.every((r) => r.healthy) ? 0 : 1;
}

main().then(
    (code) => {
        process.exitCode = code;
    },
    (error: Error) => {
        process.stderr.write(`health: ${error instanceof UsageError ? error.message : String(error)}\n`);
        process.exitCode = 2;
    },
);
