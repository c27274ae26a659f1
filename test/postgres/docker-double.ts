import * as fs from "node:fs";
import * as path from "node:path";
import { Sandbox } from "./cluster";

/**
 * A test double for the docker CLI, first on PATH: it logs each call, answers `ps` with the one
 * container name, and runs `exec ... CONTAINER CMD...` here, in the environment the test gives it
 * (standing for the container's). The scripts run as the postgres OS user, as `exec -u postgres` would.
 */
const script = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >> "$FAKE_DOCKER_LOG"
if [ "$1" = -H ]; then shift 2; fi
case "$1" in
	ps) printf '%s\\n' "$FAKE_DOCKER_CONTAINER" ;;
	exec)
		shift
		while [ $# -gt 0 ]; do
			case "$1" in
				-u) shift 2 ;;
				-i) shift ;;
				*) break ;;
			esac
		done
		if [ "$1" != "$FAKE_DOCKER_CONTAINER" ]; then echo "fake docker: no container $1" >&2; exit 1; fi
		shift
		exec "$@" ;;
	*) echo "fake docker: unsupported command $1" >&2; exit 2 ;;
esac
`;

export function fakeDocker(box: Sandbox, container: string): { env: Record<string, string>; calls: () => string[] } {
    const bin = path.join(box.root, "fake-bin");
    box.writeFile(path.join("fake-bin", "docker"), script, 0o755);
    const log = box.writeFile(`docker-calls-${container}.log`, "");
    return {
        env: { PATH: `${bin}:${process.env.PATH ?? ""}`, FAKE_DOCKER_LOG: log, FAKE_DOCKER_CONTAINER: container },
        calls: () => fs.readFileSync(log, "utf8").split("\n").filter((line) => line !== ""),
    };
}
