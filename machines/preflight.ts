import { createHash } from "node:crypto";
import { PlacedMachine } from "./placement";

/**
 * The oldest Docker Engine the platform deploys to. What the containers use, and the oldest Engine
 * with it: GPU device requests (`gpus: "all"`, DeviceRequests) need API 1.40, Engine 19.03; hosts
 * with cgroup v2 (the default of Debian 11+, Ubuntu 21.10+) need Engine 20.10; healthcheck
 * start_period (API 1.29), bind propagation through mounts and stop timeouts (API 1.25) are older.
 * Nothing asks for a newer API (no healthcheck start_interval, which needs API 1.44 / Engine 25),
 * and the Docker provider negotiates the API version with the daemon. So Debian 12's docker.io
 * (20.10.24, API 1.41) is enough.
 */
export const minimumDockerVersion = { major: 20, minor: 10 } as const;

/**
 * GPU memory: how the declared `gpu.vramGb` compares with what the driver reports.
 *
 * Vendors sell cards by binary gigabytes (an "80 GB" H100 has 80 GiB of HBM), and the driver reports
 * the memory in MiB less what the firmware and driver reserve: nvidia-smi prints 81559 MiB
 * (79.6 GiB, 99.6% of 80 GiB) for an 80 GB H100 and 24564 MiB (99.9%) for a 24 GB RTX 4090. A
 * declared size passes when the card reports at least 97% of it in GiB: room for those reservations,
 * while the next card size down (96 -> 80, 48 -> 40, 24 -> 16 GB) is at least 15% smaller and fails.
 * The placement check at preview time trusts `vramGb`, so an inflated value would let a model be
 * placed on a card it does not fit.
 */
export const vramToleranceRatio = 0.97;
/** MiB per declared GB that the driver must report, as the integer fraction the shell computes with (1024 x 0.97 = 993.28). */
const requiredMiBPerGbTimes100 = 99328;

/** The least the driver may report, in MiB, for a card declared with `declaredGb` GB. */
export function minimumReportedMiB(declaredGb: number): number {
    return Math.ceil((declaredGb * requiredMiBPerGbTimes100) / 100 - 1e-9);
}

/** The `vramGb` to declare for a card that reports `reportedMiB`: the nearest whole GiB, or the whole GiB below if that would not pass. */
export function suggestedVramGb(reportedMiB: number): number {
    const nearest = Math.floor((reportedMiB + 512) / 1024);
    return minimumReportedMiB(nearest) > reportedMiB ? Math.floor(reportedMiB / 1024) : nearest;
}

export interface VramVerdict {
    readonly ok: boolean;
    /** The smallest of the `count` largest GPUs the driver lists, in MiB (what the config's per-GPU size must fit). */
    readonly smallestMiB: number;
    /** What to set `gpu.vramGb` to when the check fails. */
    readonly suggestedGb: number;
}

/**
 * Compares the declared per-GPU memory with the driver's report (MiB per GPU, any order). The
 * machine may have more GPUs than it declares (a small display card): the `count` largest are checked.
 * Returns undefined when the driver lists fewer than `count` GPUs (the GPU count check says so). Pure.
 */
export function checkGpuMemory(declaredGb: number, count: number, reportedMiB: readonly number[]): VramVerdict | undefined {
    const largest = [...reportedMiB].sort((a, b) => b - a);
    if (count < 1 || largest.length < count) return undefined;
    const smallestMiB = largest[count - 1];
    return { ok: smallestMiB >= minimumReportedMiB(declaredGb), smallestMiB, suggestedGb: suggestedVramGb(smallestMiB) };
}

/** The NAS as the preflight needs it: where it is and which path each export has. */
export interface PreflightNas {
    readonly address: string;
    readonly exports: Readonly<Record<"models" | "backups", string>>;
}

/** How the preflight reaches a machine: over SSH (as the Docker provider does), or locally for a unix socket. */
export type PreflightEndpoint = { readonly kind: "local" } | { readonly kind: "ssh"; readonly host: string; readonly user: string; readonly port: number };

/** The SSH endpoint of a machine: that of its `ssh://` Docker host, else the machine's address with the platform's SSH user and port. */
export function preflightEndpoint(placed: PlacedMachine, ssh: { readonly user: string; readonly port: number }): PreflightEndpoint {
    if (placed.dockerHost.startsWith("unix://")) return { kind: "local" };
    if (placed.dockerHost.startsWith("ssh://")) {
        const url = new URL(placed.dockerHost);
        return { kind: "ssh", host: url.hostname, user: decodeURIComponent(url.username) || ssh.user, port: url.port === "" ? ssh.port : Number(url.port) };
    }
    return { kind: "ssh", host: placed.address, user: ssh.user, port: ssh.port };
}

/** A stable digest of the script: the command's trigger, so it runs again whenever its checks change. */
export function preflightDigest(script: string): string {
    return createHash("sha256").update(script).digest("hex");
}

function quote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

const header = () => `#!/bin/sh
# Preflight checks for one machine, rendered by machines/preflight.ts and run (sh -s) before any of
# its containers is created. Every failed check says what to fix; any failure exits non-zero.
set -u
failures=0
fail() {
    printf 'preflight %s: FAILED: %s\\n  fix: %s\\n' "$machine" "$1" "$2" >&2
    failures=$((failures + 1))
}
ok() {
    printf 'preflight %s: ok: %s\\n' "$machine" "$1"
}
# version_at_least VERSION MAJOR MINOR
version_at_least() {
    major=\${1%%.*}
    rest=\${1#*.}
    minor=\${rest%%.*}
    case "$major.$minor" in *[!0-9.]* | .* | *.) return 1 ;; esac
    [ "$major" -gt "$2" ] || { [ "$major" -eq "$2" ] && [ "$minor" -ge "$3" ]; }
}
# vram_check COUNT MIN_MIB DECLARED_GB MIB_LIST: MIB_LIST holds the memory of each GPU in MiB, one a
# line; the COUNT largest must each report at least MIN_MIB (machines/preflight.ts: checkGpuMemory).
# Not in a pipeline: fail and ok count in this shell.
vram_check() {
    smallest=$(printf '%s\\n' "$4" | awk -v count="$1" '/^[ \\t\\r]*[0-9]+[ \\t\\r]*$/ { v[n++] = $1 + 0 }
        END {
            if (n < count || count < 1) exit 1
            for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] > v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            printf "%d\\n", v[count - 1]
        }') || smallest=
    if [ -z "$smallest" ]; then
        fail "the driver did not report the memory of $1 GPU(s)" "check the driver (the GPU list above), then run the preflight again"
    elif [ "$smallest" -ge "$2" ]; then
        ok "GPU memory: $smallest MiB per GPU, enough for the declared gpu.vramGb $3"
    else
        suggested=$(( (smallest + 512) / 1024 ))
        if [ $(( (suggested * ${requiredMiBPerGbTimes100} + 99) / 100 )) -gt "$smallest" ]; then suggested=$(( smallest / 1024 )); fi
        fail "GPU memory: the driver reports $smallest MiB per GPU, less than the declared gpu.vramGb $3 (at least $2 MiB)" "set gpu.vramGb of $machine to $suggested"
    fi
}
# tcp_open HOST PORT: 0 open, 1 closed, 2 no tool to tell
tcp_open() {
    if command -v nc >/dev/null 2>&1; then
        nc -z -w 5 "$1" "$2" >/dev/null 2>&1
    elif command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
        # shellcheck disable=SC2016 # expanded by the inner bash
        timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" >/dev/null 2>&1
    else
        return 2
    fi
}
`;

function dockerCheck(): string {
    const { major, minor } = minimumDockerVersion;
    return `
# Docker: installed, reachable by this user (the Docker provider runs \`docker system dial-stdio\` as it), recent enough.
if ! command -v docker >/dev/null 2>&1; then
    fail "docker is not installed" "install Docker Engine ${major}.${minor} or later (https://docs.docker.com/engine/install/)"
elif ! docker_version=$(docker version --format '{{.Server.Version}}' 2>/dev/null); then
    fail "the Docker daemon is not reachable as user $(id -un)" "start it (sudo systemctl enable --now docker) and add the user to the docker group (sudo usermod -aG docker $(id -un)), then reconnect"
elif ! version_at_least "$docker_version" ${major} ${minor}; then
    fail "Docker Engine $docker_version is older than ${major}.${minor}" "upgrade Docker Engine to ${major}.${minor} or later"
else
    ok "Docker Engine $docker_version"
fi
`;
}

function nvidiaCheck(count: number, vramGb: number): string {
    return `
# NVIDIA: the driver answers and the container toolkit lets Docker hand GPUs to containers.
if ! command -v nvidia-smi >/dev/null 2>&1; then
    fail "nvidia-smi is not installed" "install the NVIDIA driver (e.g. sudo ubuntu-drivers install, or your distribution's nvidia-driver package) and reboot"
elif ! gpu_list=$(nvidia-smi -L 2>&1); then
    fail "nvidia-smi cannot talk to the NVIDIA driver: $gpu_list" "reinstall or reload the driver (after a kernel update: reboot, or rebuild it with DKMS); nvidia-smi -L must list the GPUs"
else
    gpus=$(printf '%s\\n' "$gpu_list" | grep -c '^GPU ')
    if [ "$gpus" -lt ${count} ]; then
        fail "nvidia-smi lists $gpus GPU(s), the config declares ${count}" "check the cards and the driver, or set gpu.count of $machine to $gpus"
    else
        ok "$gpus NVIDIA GPU(s)"
        # memory.total in MiB, one line per GPU (81559 for an 80 GB H100).
        vram_check ${count} ${minimumReportedMiB(vramGb)} ${vramGb} "$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null)"
    fi
fi
if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"nvidia"' || command -v nvidia-container-cli >/dev/null 2>&1; then
    ok "NVIDIA container toolkit"
else
    fail "the NVIDIA container toolkit is missing (no nvidia runtime in Docker, no nvidia-container-cli)" "install nvidia-container-toolkit, run sudo nvidia-ctk runtime configure --runtime=docker and sudo systemctl restart docker"
fi
`;
}

function amdCheck(gpu: { readonly renderGroupId?: number; readonly count: number; readonly vramGb: number }): string {
    const renderGroupId = gpu.renderGroupId;
    const groupCheck =
        renderGroupId === undefined
            ? ""
            : `
elif [ "$(stat -c %g /dev/kfd)" != ${renderGroupId} ]; then
    fail "/dev/kfd belongs to group id $(stat -c %g /dev/kfd), config says gpu.renderGroupId ${renderGroupId}" "set gpu.renderGroupId to $(stat -c %g /dev/kfd) (getent group render) for $machine"`;
    return `
# AMD: the ROCm kernel driver exposes /dev/kfd and /dev/dri, and the ROCm tools see the GPUs.
if [ ! -c /dev/kfd ]; then
    fail "/dev/kfd is missing" "install the amdgpu driver with ROCm support (amdgpu-install --usecase=rocm) and reboot"
elif [ ! -d /dev/dri ]; then
    fail "/dev/dri is missing" "load the amdgpu kernel module (sudo modprobe amdgpu) and check dmesg for firmware errors"${groupCheck}
else
    ok "/dev/kfd and /dev/dri"
fi
if command -v rocm-smi >/dev/null 2>&1 || command -v amd-smi >/dev/null 2>&1; then
    ok "ROCm tools"
else
    fail "neither rocm-smi nor amd-smi is installed" "install ROCm (amdgpu-install --usecase=rocm) so that the driver and the GPUs can be checked"
fi
# GPU memory in bytes: rocm-smi's CSV (card0,<total>,<used>), else the amdgpu driver's sysfs file.
if command -v rocm-smi >/dev/null 2>&1; then
    vram_bytes=$(rocm-smi --showmeminfo vram --csv 2>/dev/null | awk -F, '/^card/ { print $2 }')
else
    vram_bytes=$(cat /sys/class/drm/card*/device/mem_info_vram_total 2>/dev/null)
fi
vram_check ${gpu.count} ${minimumReportedMiB(gpu.vramGb)} ${gpu.vramGb} "$(printf '%s\\n' "$vram_bytes" | awk '/^[0-9]+$/ { printf "%d\\n", $1 / 1048576 }')"
`;
}

function exportCheck(path: string): string {
    return `    export_path=${quote(path)}
    if printf '%s\\n' "$exports" | awk '{print $1}' | grep -qx -- "$export_path"; then
        ok "export $export_path"
    else
        fail "the NAS does not export $export_path" "create the NFS share $export_path on $nas and allow this machine's address, or fix nas.exports in the stack config"
    fi
`;
}

function nasCheck(nas: PreflightNas, exportNames: readonly ("models" | "backups")[]): string {
    const paths = exportNames.map((name) => nas.exports[name]);
    return `
# NAS: the NFS server answers on 2049 and (where it answers showmount) exports what this machine mounts.
nas=${quote(nas.address)}
tcp_open "$nas" 2049
case $? in
    0) ok "NFS server $nas:2049 reachable" ;;
    1) fail "the NFS server $nas does not answer on port 2049" "check that the NAS is up, NFS is enabled and no firewall blocks $(hostname) -> $nas:2049" ;;
    *) fail "cannot test $nas:2049 (neither nc nor bash with timeout is installed)" "install netcat-openbsd (or bash and coreutils)" ;;
esac
if command -v showmount >/dev/null 2>&1 && exports=$(showmount -e --no-headers "$nas" 2>/dev/null); then
${paths.map(exportCheck).join("")}else
    ok "exports not listed (no showmount here, or an NFSv4-only server): skipped"
fi
`;
}

/** What the host firewall's install (components/firewall) needs: root, or sudo without a password, and iptables-restore. */
function firewallCheck(): string {
    return `
# Host firewall: installed as root (sudo -n for another user) with iptables-restore.
if [ "$(id -u)" -eq 0 ]; then as_root=""; else as_root="sudo -n"; fi
# shellcheck disable=SC2086 # as_root is empty or two words
if [ -n "$as_root" ] && ! sudo -n true >/dev/null 2>&1; then
    fail "user $(id -un) cannot run sudo without a password, and the host firewall is installed as root" "allow $(id -un) passwordless sudo (a file in /etc/sudoers.d), or set firewall.enabled: false"
elif ! $as_root sh -c 'command -v iptables-restore' >/dev/null 2>&1; then
    fail "iptables-restore is not installed" "install iptables (sudo apt-get install iptables), or set firewall.enabled: false"
else
    ok "host firewall: root and iptables-restore"
fi
`;
}

/**
 * The preflight script of one machine: a POSIX sh script that checks what its containers need
 * (Docker, the GPU stack of its vendor, the NFS exports it mounts, what its host firewall needs)
 * and exits non-zero, saying what to fix, on any failure. Pure.
 */
export function renderPreflight(placed: PlacedMachine, nas: PreflightNas | undefined, firewall = false): string {
    const parts = [header(), `machine=${quote(placed.name)}\n`, dockerCheck()];
    if (placed.gpu?.vendor === "nvidia") parts.push(nvidiaCheck(placed.gpu.count, placed.gpu.vramGb));
    if (placed.gpu?.vendor === "amd") parts.push(amdCheck(placed.gpu));
    if (nas !== undefined && placed.mounts.length > 0) parts.push(nasCheck(nas, placed.mounts));
    if (firewall) parts.push(firewallCheck());
    parts.push(`
if [ "$failures" -gt 0 ]; then
    printf 'preflight %s: %s check(s) failed; nothing was deployed to this machine\\n' "$machine" "$failures" >&2
    exit 1
fi
ok "all checks passed"
`);
    return parts.join("");
}
