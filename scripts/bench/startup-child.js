// One start of the program by Pulumi's own Node.js runner (@pulumi/pulumi/cmd/run, which the
// language host runs and which registers ts-node when the language host says the program is
// TypeScript), with Pulumi's mocks standing in for the engine. Prints, as JSON, the
// milliseconds from process start to the last resource registration, the registrations and the
// peak memory. Arguments: the program, then a stack file (YAML) or a stack config (JSON).
// Plain JavaScript on purpose: it must not itself be loaded through a TypeScript hook.
"use strict";
const { performance } = require("node:perf_hooks");
const fs = require("node:fs");
const path = require("node:path");

const [program, stackFile] = process.argv.slice(2);
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const pulumi = require("@pulumi/pulumi");
const YAML = require("yaml");

let lastRegistration = 0;
let registrations = 0;
let customResources = 0;
function state(type, name, inputs) {
    if (type === "random:index/randomPassword:RandomPassword") return { ...inputs, result: pulumi.secret(`bench-${name}`), bcryptHash: pulumi.secret("$2a$10$bench") };
    if (type === "docker:index/remoteImage:RemoteImage") return { ...inputs, imageId: "sha256:" + "0".repeat(64), repoDigest: `${inputs.name}@sha256:0` };
    return inputs;
}

async function main() {
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                registrations++;
                if (args.custom !== false) customResources++;
                lastRegistration = performance.now();
                return { id: args.custom === false ? "" : `${args.name}-id`, state: state(args.type, args.name, args.inputs) };
            },
            call: (args) => args.inputs,
        },
        "ai-platform",
        "bench",
        true,
    );
    const config = stackFile.endsWith(".json") ? JSON.parse(fs.readFileSync(stackFile, "utf8")) : YAML.parse(fs.readFileSync(stackFile, "utf8")).config;
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)])), []);
    // The runner reads its arguments when it is loaded; the mocks already answer as the monitor.
    process.argv = [process.argv[0], path.join(pulumiDir, "cmd", "run"), "--monitor=mocks", "--dry-run", program];
    process.once("exit", () => console.log(JSON.stringify({ ms: Math.round(lastRegistration), registrations, customResources, peakMb: Math.round(process.resourceUsage().maxRSS / 1024) })));
    require(path.join(pulumiDir, "cmd", "run"));
}

main().catch((error) => {
    console.error(error && error.stack ? error.stack : String(error));
    process.exit(1);
});
