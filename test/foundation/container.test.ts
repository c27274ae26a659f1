import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { isPinned } from "../../config/images";
import { containerArgs, ContainerSpec } from "../../components/container/spec";
import { goDuration } from "../../components/container/duration";

const host = { machine: "kratos", address: "192.168.10.22" };
const base: ContainerSpec = { name: "demo", image: "demo/demo:1.0.0", healthcheck: { test: ["CMD", "true"] } };

function unwrap<T>(value: pulumi.Input<T> | undefined): Promise<T | undefined> {
    return new Promise((resolve) => pulumi.output(value).apply((v) => resolve(v as T | undefined)));
}

describe("the container builder", () => {
    test("binds every published port to the machine's LAN address", () => {
        const args = containerArgs(host, { ...base, ports: [{ internal: 8080, external: 3000 }, { internal: 53, external: 53, protocol: "udp" }] }, "sha256:1");
        assert.deepEqual(args.ports, [
            { internal: 8080, external: 3000, ip: "192.168.10.22", protocol: "tcp" },
            { internal: 53, external: 53, ip: "192.168.10.22", protocol: "udp" },
        ]);
    });

    test("labels a container without a healthcheck with the reason and leaves it to monitoring, not autoheal", async () => {
        const args = containerArgs(host, { ...base, healthcheck: { none: "scratch image: no shell" } }, "sha256:1");
        const labels = await unwrap(args.labels);
        assert.deepEqual(
            (labels as { label: string; value: string }[]).map((l) => `${l.label}=${l.value}`),
            ["ai-platform.platform=ai-platform", "ai-platform.machine=kratos", "ai-platform.service=demo", "ai-platform.no-healthcheck=scratch image: no shell"],
        );
        assert.equal(args.healthcheck, undefined);
    });

    test("keeps secret env values and secret files secret", async () => {
        const args = containerArgs(host, { ...base, secretEnv: { API_KEY: pulumi.secret("k") }, secretFiles: [{ path: "/run/secrets/pw", content: pulumi.secret("pw") }] }, "sha256:1");
        const envs = args.envs as pulumi.Output<string>[];
        assert.equal(await pulumi.isSecret(pulumi.output(envs[0])), true);
        const uploads = args.uploads as unknown as { content: pulumi.Output<string> }[];
        assert.equal(await pulumi.isSecret(uploads[0].content), true);
    });

    test("uploads a script executable by any user the image runs as", async () => {
        const args = containerArgs(host, { ...base, files: [{ path: "/usr/local/bin/start.sh", content: "#!/bin/sh", executable: true }, { path: "/etc/demo.yml", content: "a: 1" }] }, "sha256:1");
        const uploads = (await unwrap(args.uploads)) as { file: string; permissions?: string }[];
        assert.deepEqual(uploads.map((u) => [u.file, u.permissions]), [["/usr/local/bin/start.sh", "0755"], ["/etc/demo.yml", undefined]]);
    });

    test("a host path with rslave propagation is a bind mount that sees filesystems mounted later", () => {
        const args = containerArgs(host, { ...base, mounts: [{ containerPath: "/host", hostPath: "/", readOnly: true, propagation: "rslave" }, { containerPath: "/data", volumeName: "ai-data" }] }, "sha256:1");
        assert.deepEqual(args.mounts, [{ type: "bind", source: "/", target: "/host", readOnly: true, bindOptions: { propagation: "rslave" } }]);
        assert.deepEqual(args.volumes, [{ containerPath: "/data", volumeName: "ai-data", hostPath: undefined, readOnly: false }]);
    });

    test("host-network agents publish no ports and join no bridge network", () => {
        const args = containerArgs(host, { ...base, hostNetwork: true, ports: [{ internal: 9100, external: 9100 }] }, "sha256:1");
        assert.equal(args.networkMode, "host");
        assert.equal(args.ports, undefined);
        assert.equal(args.networksAdvanced, undefined);
    });
});

describe("image pinning", () => {
    test("accepts version tags and digests, rejects latest and untagged names", () => {
        assert.equal(isPinned("ollama/ollama:0.12.6"), true);
        assert.equal(isPinned("registry.local:5000/ollama/ollama:0.12.6-rocm"), true);
        assert.equal(isPinned(`postgres@sha256:${"a".repeat(64)}`), true);
        assert.equal(isPinned("ollama/ollama:latest"), false);
        assert.equal(isPinned("ollama/ollama"), false);
        assert.equal(isPinned("registry.local:5000/ollama/ollama"), false);
    });

    test("spells healthcheck durations as the Docker provider reads them back (Go's Duration.String)", () => {
        const args = containerArgs(host, { ...base, healthcheck: { test: ["CMD", "true"], interval: "60s", timeout: "5s", startPeriod: "2m" } }, "sha256:1");
        assert.deepEqual(args.healthcheck, { tests: ["CMD", "true"], interval: "1m0s", timeout: "5s", retries: 3, startPeriod: "2m0s" });
        const defaults = containerArgs(host, base, "sha256:1");
        assert.deepEqual(defaults.healthcheck, { tests: ["CMD", "true"], interval: "30s", timeout: "10s", retries: 3, startPeriod: "30s" });
    });

    test("adds capabilities with the CAP_ prefix the daemon reports them with", () => {
        const args = containerArgs(host, { ...base, capabilities: ["SYS_ADMIN", "CAP_NET_ADMIN"] }, "sha256:1");
        assert.deepEqual(args.capabilities, { adds: ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"] });
    });

    test("gives a container its stop timeout on replace, destroy and autoheal restarts, not a kill", async () => {
        const database = containerArgs(host, { ...base, stopTimeoutSeconds: 120 }, "sha256:1");
        assert.equal(database.stopTimeout, 120);
        assert.equal(database.destroyGraceSeconds, 120);
        const labels = (await unwrap(database.labels)) as { label: string; value: string }[];
        assert.equal(labels.find((l) => l.label === "autoheal.stop.timeout")?.value, "120");

        const plain = containerArgs(host, base, "sha256:1");
        assert.equal(plain.destroyGraceSeconds, 10, "Docker's default grace, not the provider's zero");
    });
});

describe("Go duration spelling", () => {
    test("matches Go's Duration.String for the spellings a stack uses", () => {
        const cases: [string, string][] = [
            ["30s", "30s"], ["60s", "1m0s"], ["90s", "1m30s"], ["120s", "2m0s"], ["180s", "3m0s"], ["2m", "2m0s"],
            ["1h", "1h0m0s"], ["6h", "6h0m0s"], ["1h30m", "1h30m0s"], ["500ms", "500ms"], ["1.5s", "1.5s"], ["0", "0s"], ["3600s", "1h0m0s"],
        ];
        assert.deepEqual(cases.map(([input]) => [input, goDuration(input)]), cases);
    });

    test("agrees with Go's own time.Duration.String, which the provider uses to read them back", () => {
        const spellings = ["30s", "60s", "90s", "120s", "180s", "2m", "1h", "6h", "1h30m", "500ms", "1.5s", "0", "3600s", "45s", "100ms", "2h45m", "86400s"];
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "go-duration-"));
        const program = path.join(dir, "main.go");
        fs.writeFileSync(program, 'package main\n\nimport (\n\t"fmt"\n\t"os"\n\t"time"\n)\n\nfunc main() {\n\tfor _, arg := range os.Args[1:] {\n\t\td, err := time.ParseDuration(arg)\n\t\tif err != nil {\n\t\t\tpanic(err)\n\t\t}\n\t\tfmt.Println(d.String())\n\t}\n}\n');
        const fromGo = execFileSync("go", ["run", program, ...spellings], { encoding: "utf8", env: { ...process.env, GO111MODULE: "off" } }).trim().split("\n");
        fs.rmSync(dir, { recursive: true, force: true });
        assert.deepEqual(spellings.map(goDuration), fromGo);
    });

    test("refuses a spelling Docker would not parse", () => {
        for (const bad of ["30", "1 m", "2min", "", "s"]) assert.throws(() => goDuration(bad), /is not a duration/);
    });
});
