import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Why the real engine's `pulumi preview` is not timed here: what of the engine this machine lacks
 * (scripts/install-pulumi.sh builds it and names what the Go module proxy does not serve).
 */
export function engineStatus(root: string): string {
    const home = process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");
    const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
    const cli = lock.packages["node_modules/pulumi"].version;
    const needed = [
        [`the Pulumi CLI v${cli}`, path.join(home, "versions", cli, "bin", "pulumi")],
        [`the Node.js language host v${cli}`, path.join(home, "versions", cli, "bin", "pulumi-language-nodejs")],
        ...["docker", "command", "random"].map((name) => {
            const version = lock.packages[`node_modules/@pulumi/${name}`].version;
            return [`the ${name} plugin v${version}`, path.join(home, "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`)];
        }),
    ];
    const missing = needed.filter(([, file]) => !fs.existsSync(file)).map(([what]) => what);
    return missing.length > 0 ? `not measured: this machine lacks ${missing.join(", ")} (see scripts/install-pulumi.sh)` : "not measured: the engine is installed, but this bench does not time it yet";
}
