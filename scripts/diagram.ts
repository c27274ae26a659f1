// npm run diagram -- [STACK_FILE] [--out FILE] [--check]
// Writes the Mermaid diagram of machines and services placed by STACK_FILE (default
// Pulumi.homelab.yaml) to FILE (default docs/diagram.md); --check only reports whether it is current.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { place } from "../machines/placement";
import { diagramPage, renderDiagram } from "./ops/diagram";
import { loadStackFile } from "./ops/stack-file";

function main(): number {
    const { values, positionals } = parseArgs({
        args: process.argv.slice(2),
        allowPositionals: true,
        options: { out: { type: "string", default: "docs/diagram.md" }, check: { type: "boolean", default: false } },
    });
    const stackFile = positionals[0] ?? "Pulumi.homelab.yaml";
    const config = loadStackFile(stackFile);
    const page = diagramPage(path.basename(stackFile), renderDiagram(config, place(config)));
    const current = fs.existsSync(values.out) ? fs.readFileSync(values.out, "utf8") : "";
    if (values.check) {
        if (current === page) return 0;
        process.stderr.write(`${values.out} is stale: run npm run diagram -- ${stackFile} --out ${values.out}\n`);
        return 1;
    }
    fs.mkdirSync(path.dirname(values.out), { recursive: true });
    fs.writeFileSync(values.out, page);
    process.stdout.write(`${current === page ? "unchanged" : "wrote"} ${values.out}\n`);
    return 0;
}

try {
    process.exitCode = main();
} catch (error) {
    process.stderr.write(`diagram: ${(error as Error).message}\n`);
    process.exitCode = 2;
}
