import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * A stand-in for the Pulumi CLI (the scripts' $PULUMI) that records its arguments, one call a
 * line, so a script's exact call can be checked; `pulumi stack ...` answers `homelab`.
 */
export function fakePulumi(): { command: string; calls: () => string[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-pulumi-"));
    const log = path.join(dir, "calls");
    const command = path.join(dir, "pulumi");
    fs.writeFileSync(command, `#!/bin/sh\nif [ "$1" = stack ]; then echo homelab; exit 0; fi\necho "$*" >> "${log}"\n`, { mode: 0o755 });
    return { command, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []) };
}
