import { createHash } from "node:crypto";
import { PlacedMachine } from "./placement";

/** The oldest Docker Engine the platform deploys to (older releases are end of life). */
export const minimumDockerVersion = { major: 24, minor: 0 } as const;

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

const header = `#!/bin/sh
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

function nvidiaCheck(count: number): string {
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
    fi
fi
if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"nvidia"' || command -v nvidia-container-cli >/dev/null 2>&1; then
    ok "NVIDIA container toolkit"
else
    fail "the NVIDIA container toolkit is missing (no nvidia runtime in Docker, no nvidia-container-cli)" "install nvidia-container-toolkit, run sudo nvidia-ctk runtime configure --runtime=docker and sudo systemctl restart docker"
fi
`;
}

function amdCheck(renderGroupId: number | undefined): string {
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

/**
 * The preflight script of one machine: a POSIX sh script that checks what its containers need
 * (Docker, the GPU stack of its vendor, the NFS exports it mounts) and exits non-zero, saying what
 * to fix, on any failure. Pure.
 */
export function renderPreflight(placed: PlacedMachine, nas: PreflightNas | undefined): string {
    const parts = [header, `machine=${quote(placed.name)}\n`, dockerCheck()];
    if (placed.gpu?.vendor === "nvidia") parts.push(nvidiaCheck(placed.gpu.count));
    if (placed.gpu?.vendor === "amd") parts.push(amdCheck(placed.gpu.renderGroupId));
    if (nas !== undefined && placed.mounts.length > 0) parts.push(nasCheck(nas, placed.mounts));
    parts.push(`
if [ "$failures" -gt 0 ]; then
    printf 'preflight %s: %s check(s) failed; nothing was deployed to this machine\\n' "$machine" "$failures" >&2
    exit 1
fi
ok "all checks passed"
`);
    return parts.join("");
}
