import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { PlatformConfig, validatePlatform } from "../../config/platform";
import { place, PlacedMachine } from "../../machines/placement";
import { checkGpuMemory, minimumReportedMiB, preflightDigest, preflightEndpoint, renderPreflight, suggestedVramGb } from "../../machines/preflight";
import { readStackConfig } from "../harness/program";

function configOf(stackFile: string): PlatformConfig {
    const result = validatePlatform(readStackConfig(stackFile));
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    return result.config;
}

const homelab = configOf("Pulumi.homelab.yaml");
const local = configOf("Pulumi.local.yaml");
const machineOf = (config: PlatformConfig, name: string): PlacedMachine => {
    const machine = place(config).machines.find((m) => m.name === name);
    assert.ok(machine, name);
    return machine;
};
const script = (name: string, config = homelab): string => renderPreflight(machineOf(config, name), config.nas);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Where this system keeps a basic tool (they move between /bin and /usr/bin across distributions). */
function realTool(tool: string): string {
    const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    assert.ok(found.startsWith("/"), `${tool} is installed`);
    return found;
}

/**
 * Runs a rendered script with /bin/sh and a PATH holding only the real basics plus the given fake
 * tools, so each case controls exactly what the "machine" has installed.
 */
function runScript(text: string, fakes: Record<string, string>): { code: number; stdout: string; stderr: string } {
    const bin = fs.mkdtempSync(path.join(dir, "bin-"));
    for (const tool of ["awk", "grep", "id", "hostname", "stat", "cat", "sh"]) fs.symlinkSync(realTool(tool), path.join(bin, tool));
    for (const [tool, body] of Object.entries(fakes)) {
        // A fake may replace a real basic (id): remove the link first, never write through it.
        fs.rmSync(path.join(bin, tool), { force: true });
        fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    }
    const file = path.join(bin, "preflight.sh");
    fs.writeFileSync(file, text);
    const run = spawnSync("/bin/sh", [file], { env: { PATH: bin }, encoding: "utf8" });
    return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

const docker = (version: string, runtimes = '{"runc":{}}') => `case "$*" in
  version*) echo "${version}" ;;
  info*) echo '${runtimes}' ;;
esac`;
/** A fake nvidia-smi: `-L` lists the GPUs, `--query-gpu=memory.total --format=csv,noheader,nounits` prints MiB per GPU. */
const nvidiaSmi = (gpus: number, mib = 24564) => `case "$*" in
  *--query-gpu=memory.total*--format=csv,noheader,nounits*) i=0; while [ $i -lt ${gpus} ]; do echo "${mib}"; i=$((i+1)); done ;;
  -L) i=0; while [ $i -lt ${gpus} ]; do echo "GPU $i: NVIDIA GeForce RTX 4090 (UUID: GPU-$i)"; i=$((i+1)); done ;;
  *) exit 2 ;;
esac`;
const showmount = (paths: string[]) => paths.map((p) => `echo "${p} 192.168.10.0/24"`).join("\n");

describe("preflight script renderer", () => {
    it("renders checks by vendor and mounts: NVIDIA, AMD, NAS exports, nothing GPU on CPU machines", () => {
        const orpheus = script("orpheus");
        assert.match(orpheus, /nvidia-smi -L/);
        assert.match(orpheus, /nvidia-container-cli/);
        assert.doesNotMatch(orpheus, /\/dev\/kfd/);
        assert.match(orpheus, /'\/mnt\/tank\/ai\/models'/);
        assert.doesNotMatch(orpheus, /\/mnt\/tank\/ai\/backups/);

        const hades = script("hades");
        assert.match(hades, /\/dev\/kfd/);
        assert.match(hades, /rocm-smi/);
        assert.match(hades, /amd-smi/);
        assert.match(hades, /!= 110 \]/, "the configured render group id is checked");
        assert.doesNotMatch(hades, /nvidia-smi/);

        const erebus = script("erebus");
        assert.match(erebus, /'\/mnt\/tank\/ai\/backups'/);
        assert.doesNotMatch(erebus, /nvidia-smi|\/dev\/kfd/);

        const hephaestus = script("hephaestus");
        assert.doesNotMatch(hephaestus, /2049|nvidia-smi|\/dev\/kfd/, "an edge machine mounts nothing and has no GPU");
        assert.match(hephaestus, /docker version/);

        const single = script("local", local);
        assert.doesNotMatch(single, /2049/, "no NAS in the local stack");
    });

    it("passes shellcheck for every machine of both stacks", () => {
        const scripts = [
            // The homelab's machines have a host firewall; the local stack's loopback machine has none.
            ...place(homelab).machines.map((m) => [m.name, renderPreflight(m, homelab.nas, true)]),
            ...place(local).machines.map((m) => [`local stack ${m.name}`, renderPreflight(m, local.nas)]),
        ];
        for (const [name, text] of scripts) {
            const file = path.join(dir, `${name.replace(/\W/g, "-")}.sh`);
            fs.writeFileSync(file, text);
            const run = spawnSync("shellcheck", ["--shell=sh", "--severity=style", file], { encoding: "utf8" });
            assert.equal(run.status, 0, `${name}:\n${run.stdout}${run.stderr}`);
        }
    });

    it("connects over SSH like the Docker provider, or locally for a unix socket", () => {
        assert.deepEqual(preflightEndpoint(machineOf(homelab, "orpheus"), homelab.ssh), { kind: "ssh", host: "192.168.10.21", user: "deploy", port: 22 });
        assert.deepEqual(preflightEndpoint(machineOf(local, "local"), local.ssh), { kind: "local" });
        const custom = { ...machineOf(homelab, "nyx"), dockerHost: "ssh://ops@nyx.lab:2222" };
        assert.deepEqual(preflightEndpoint(custom, homelab.ssh), { kind: "ssh", host: "nyx.lab", user: "ops", port: 2222 });
    });

    it("changes its digest (the command's trigger) when a check changes", () => {
        const before = script("orpheus");
        const moreGpus = renderPreflight({ ...machineOf(homelab, "orpheus"), gpu: { vendor: "nvidia", vramGb: 24, count: 2 } }, homelab.nas);
        assert.equal(preflightDigest(before), preflightDigest(script("orpheus")));
        assert.notEqual(preflightDigest(before), preflightDigest(moreGpus));
    });
});

describe("preflight script, run against fake machines", () => {
    const exportsOk = showmount(["/mnt/tank/ai/models", "/mnt/tank/ai/backups"]);

    it("passes on a healthy NVIDIA node", () => {
        const run = runScript(script("orpheus"), { docker: docker("27.3.1", '{"nvidia":{},"runc":{}}'), "nvidia-smi": nvidiaSmi(1), nc: "exit 0", showmount: exportsOk });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /ok: Docker Engine 27\.3\.1/);
        assert.match(run.stdout, /ok: 1 NVIDIA GPU/);
        assert.match(run.stdout, /ok: export \/mnt\/tank\/ai\/models/);
        assert.match(run.stdout, /all checks passed/);
    });

    it("fails, saying what to fix, when Docker is missing, unreachable or too old", () => {
        const missing = runScript(script("hephaestus"), {});
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /FAILED: docker is not installed\n  fix: install Docker Engine 20\.10 or later/);

        const unreachable = runScript(script("hephaestus"), { docker: "exit 1" });
        assert.equal(unreachable.code, 1);
        assert.match(unreachable.stderr, /the Docker daemon is not reachable as user .*\n  fix: .*usermod -aG docker/);

        const old = runScript(script("hephaestus"), { docker: docker("19.03.15") });
        assert.equal(old.code, 1);
        assert.match(old.stderr, /Docker Engine 19\.03\.15 is older than 20\.10/);
        assert.match(old.stderr, /1 check\(s\) failed; nothing was deployed/);

        // Debian 12's docker.io: API 1.41 covers everything the containers use (machines/preflight.ts says what).
        const debian = runScript(script("hephaestus"), { docker: docker("20.10.24+dfsg1") });
        assert.equal(debian.code, 0, debian.stderr);
        assert.match(debian.stdout, /ok: Docker Engine 20\.10\.24\+dfsg1/);
        assert.equal(runScript(script("hephaestus"), { docker: docker("24.0.7") }).code, 0);
    });

    it("fails on an NVIDIA node without the driver, with too few GPUs, or without the container toolkit", () => {
        const base = { docker: docker("27.3.1", '{"nvidia":{}}'), nc: "exit 0", showmount: exportsOk };
        const noDriver = runScript(script("kratos"), base);
        assert.match(noDriver.stderr, /nvidia-smi is not installed\n  fix: install the NVIDIA driver/);
        const brokenDriver = runScript(script("kratos"), { ...base, "nvidia-smi": "echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver'; exit 9" });
        assert.match(brokenDriver.stderr, /cannot talk to the NVIDIA driver: NVIDIA-SMI has failed/);
        const twoDeclared = renderPreflight({ ...machineOf(homelab, "kratos"), gpu: { vendor: "nvidia", vramGb: 24, count: 2 } }, homelab.nas);
        const tooFew = runScript(twoDeclared, { ...base, "nvidia-smi": nvidiaSmi(1) });
        assert.match(tooFew.stderr, /lists 1 GPU\(s\), the config declares 2\n  fix: .*set gpu\.count of kratos to 1/);
        const noToolkit = runScript(script("kratos"), { ...base, docker: docker("27.3.1"), "nvidia-smi": nvidiaSmi(1) });
        assert.equal(noToolkit.code, 1);
        assert.match(noToolkit.stderr, /NVIDIA container toolkit is missing.*\n  fix: install nvidia-container-toolkit/);
        const toolkitCli = runScript(script("kratos"), { ...base, docker: docker("27.3.1"), "nvidia-smi": nvidiaSmi(1), "nvidia-container-cli": "exit 0" });
        assert.equal(toolkitCli.code, 0, toolkitCli.stderr);
    });

    it("fails on an AMD node without /dev/kfd or the ROCm tools", () => {
        const run = runScript(script("hades"), { docker: docker("27.3.1"), nc: "exit 0", showmount: exportsOk });
        assert.equal(run.code, 1);
        assert.match(run.stderr, /\/dev\/kfd is missing\n  fix: install the amdgpu driver with ROCm support/);
        assert.match(run.stderr, /neither rocm-smi nor amd-smi is installed/);
    });

    it("fails when the NAS does not answer or does not export what the machine mounts", () => {
        const down = runScript(script("erebus"), { docker: docker("27.3.1"), nc: "exit 1" });
        assert.equal(down.code, 1);
        assert.match(down.stderr, /NFS server '?192\.168\.10\.5'? does not answer on port 2049/);
        const missingExport = runScript(script("erebus"), { docker: docker("27.3.1"), nc: "exit 0", showmount: showmount(["/mnt/tank/ai/models"]) });
        assert.equal(missingExport.code, 1);
        assert.match(missingExport.stderr, /the NAS does not export \/mnt\/tank\/ai\/backups\n  fix: create the NFS share/);
        const v4Only = runScript(script("erebus"), { docker: docker("27.3.1"), nc: "exit 0", showmount: "echo 'clnt_create: RPC: Program not registered' >&2; exit 1" });
        assert.equal(v4Only.code, 0, v4Only.stderr);
        assert.match(v4Only.stdout, /exports not listed/);
    });
});

describe("preflight of a machine with the host firewall", () => {
    const withFirewall = renderPreflight(machineOf(homelab, "hephaestus"), homelab.nas, true);
    const base = { docker: docker("27.3.1") };
    const asUser = 'case "$1" in -u) echo 1000 ;; -un) echo deploy ;; *) echo "uid=1000(deploy)" ;; esac';

    it("checks what the firewall needs only where there is one", () => {
        assert.doesNotMatch(script("hephaestus"), /iptables-restore/);
        assert.match(withFirewall, /iptables-restore/);
    });

    it("passes as root with iptables-restore, and as a user with passwordless sudo", () => {
        const root = runScript(withFirewall, { ...base, "iptables-restore": "exit 0" });
        assert.equal(root.code, 0, root.stderr);
        assert.match(root.stdout, /ok: host firewall: root and iptables-restore/);
        const sudoer = runScript(withFirewall, { ...base, id: asUser, sudo: '[ "$1" = -n ] && shift; "$@"', "iptables-restore": "exit 0" });
        assert.equal(sudoer.code, 0, sudoer.stderr);
    });

    it("fails, saying what to fix, without passwordless sudo or without iptables", () => {
        const noSudo = runScript(withFirewall, { ...base, id: asUser, sudo: "echo 'sudo: a password is required' >&2; exit 1", "iptables-restore": "exit 0" });
        assert.equal(noSudo.code, 1);
        assert.match(noSudo.stderr, /user deploy cannot run sudo without a password.*\n  fix: allow deploy passwordless sudo .*or set firewall\.enabled: false/);
        const noIptables = runScript(withFirewall, base);
        assert.equal(noIptables.code, 1);
        assert.match(noIptables.stderr, /iptables-restore is not installed\n  fix: install iptables/);
    });
});

describe("GPU memory: declared gpu.vramGb against what the driver reports", () => {
    it("passes a declared 80 on an 80 GB H100 (81559 MiB), fails a declared 96 and says what to declare", () => {
        assert.equal(minimumReportedMiB(80), 79463, "97% of 80 GiB");
        assert.deepEqual(checkGpuMemory(80, 1, [81559]), { ok: true, smallestMiB: 81559, suggestedGb: 80 });
        assert.deepEqual(checkGpuMemory(96, 1, [81559]), { ok: false, smallestMiB: 81559, suggestedGb: 80 });
        assert.equal(checkGpuMemory(24, 1, [24564])?.ok, true, "RTX 4090");
        assert.equal(checkGpuMemory(24, 1, [16376])?.ok, false, "a 16 GB card declared as 24");
        assert.equal(checkGpuMemory(48, 2, [49136, 49136])?.ok, true, "two 48 GB AMD cards (51522830336 bytes each)");
    });

    it("checks the `count` largest GPUs (a small display card beside the declared one is ignored), and nothing when the driver lists too few", () => {
        assert.deepEqual(checkGpuMemory(24, 1, [8192, 24564]), { ok: true, smallestMiB: 24564, suggestedGb: 24 });
        assert.equal(checkGpuMemory(24, 2, [8192, 24564])?.ok, false, "two declared, the second is the small one");
        assert.equal(checkGpuMemory(24, 2, [24564]), undefined);
    });

    it("suggests a value that passes, for any reported size", () => {
        for (let mib = 2048; mib <= 200_000; mib += 997) {
            const suggested = suggestedVramGb(mib);
            assert.equal(checkGpuMemory(suggested, 1, [mib])?.ok, true, `${mib} MiB -> ${suggested}`);
            assert.ok(suggested === Math.round(mib / 1024) || suggested === Math.floor(mib / 1024), `${mib} MiB -> ${suggested}: the whole GiB it reports`);
        }
    });

    const nvidiaNode = (vramGb: number, count = 1) => renderPreflight({ ...machineOf(homelab, "kratos"), gpu: { vendor: "nvidia", vramGb, count } }, homelab.nas);
    const healthy = { docker: docker("27.3.1", '{"nvidia":{}}'), nc: "exit 0", showmount: showmount(["/mnt/tank/ai/models"]) };

    it("the rendered NVIDIA preflight, run with a fake nvidia-smi: 80 passes on 81559 MiB, 96 fails with the fix", () => {
        const h100 = runScript(nvidiaNode(80), { ...healthy, "nvidia-smi": nvidiaSmi(1, 81559) });
        assert.equal(h100.code, 0, h100.stderr);
        assert.match(h100.stdout, /ok: GPU memory: 81559 MiB per GPU, enough for the declared gpu\.vramGb 80/);

        const inflated = runScript(nvidiaNode(96), { ...healthy, "nvidia-smi": nvidiaSmi(1, 81559) });
        assert.equal(inflated.code, 1);
        assert.match(inflated.stderr, /FAILED: GPU memory: the driver reports 81559 MiB per GPU, less than the declared gpu\.vramGb 96 \(at least 95355 MiB\)\n  fix: set gpu\.vramGb of kratos to 80\n/);

        const silent = runScript(nvidiaNode(80), { ...healthy, "nvidia-smi": `case "$*" in -L) echo "GPU 0: NVIDIA H100 (UUID: GPU-0)" ;; *) exit 9 ;; esac` });
        assert.equal(silent.code, 1);
        assert.match(silent.stderr, /the driver did not report the memory of 1 GPU\(s\)/);
    });

    it("the shell and the pure function agree on pass, fail and the suggested value", () => {
        for (const declared of [8, 16, 24, 40, 48, 80, 96]) {
            for (const mib of [8192, 16376, 24564, 40960, 46068, 49136, 81559, 98304]) {
                const expected = checkGpuMemory(declared, 1, [mib]);
                assert.ok(expected);
                const run = runScript(nvidiaNode(declared), { ...healthy, "nvidia-smi": nvidiaSmi(1, mib) });
                assert.equal(run.code === 0, expected.ok, `${declared} GB on ${mib} MiB: ${run.stderr}`);
                if (!expected.ok) assert.match(run.stderr, new RegExp(`set gpu\\.vramGb of kratos to ${expected.suggestedGb}\\n`), `${declared} GB on ${mib} MiB`);
            }
        }
    });

    it("the rendered AMD preflight reads rocm-smi's CSV (bytes) and checks each declared GPU", () => {
        const rocmSmi = (bytes: string[]) => `echo "device,VRAM Total Memory (B),VRAM Total Used Memory (B)"\n${bytes.map((b, i) => `echo "card${i},${b},10960896"`).join("\n")}`;
        const hades = script("hades");
        const fits = runScript(hades, { docker: docker("27.3.1"), nc: "exit 0", "rocm-smi": rocmSmi(["51522830336", "51522830336"]) });
        assert.match(fits.stdout, /ok: GPU memory: 49136 MiB per GPU, enough for the declared gpu\.vramGb 48/);
        const small = runScript(hades, { docker: docker("27.3.1"), nc: "exit 0", "rocm-smi": rocmSmi(["51522830336", "34342961152"]) });
        assert.match(small.stderr, /the driver reports 32752 MiB per GPU, less than the declared gpu\.vramGb 48 .*\n  fix: set gpu\.vramGb of hades to 32/);
    });
});
