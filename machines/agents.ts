import { Images } from "../config/images";
import { ContainerSpec } from "../components/container/spec";
import { PlacedMachine } from "./placement";
import { serviceKinds } from "./services";

const nodeExporterPort = serviceKinds["node-exporter"].port;
const cadvisorPort = serviceKinds.cadvisor.port;

/** node-exporter sees the host: its network (to report real interfaces), its PID space and root. */
function nodeExporter(machine: PlacedMachine, images: Images): ContainerSpec {
    const listen = `${machine.address}:${nodeExporterPort.external}`;
    return {
        name: "node-exporter",
        image: images.nodeExporter,
        hostNetwork: true,
        pidMode: "host",
        mounts: [{ containerPath: "/host", hostPath: "/", readOnly: true }],
        command: ["--path.rootfs=/host", `--web.listen-address=${listen}`, "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+)($|/)"],
        healthcheck: { test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://${listen}/`] },
    };
}

function cadvisor(images: Images): ContainerSpec {
    return {
        name: "cadvisor",
        image: images.cadvisor,
        ports: [cadvisorPort],
        privileged: true,
        devices: ["/dev/kmsg"],
        mounts: [
            { containerPath: "/rootfs", hostPath: "/", readOnly: true },
            { containerPath: "/var/run", hostPath: "/var/run", readOnly: true },
            { containerPath: "/sys", hostPath: "/sys", readOnly: true },
            { containerPath: "/var/lib/docker", hostPath: "/var/lib/docker", readOnly: true },
            { containerPath: "/dev/disk", hostPath: "/dev/disk", readOnly: true },
        ],
        command: ["--docker_only=true", "--housekeeping_interval=30s", "--store_container_labels=false", "--whitelisted_container_labels=ai-platform.service,ai-platform.machine"],
        healthcheck: { test: ["CMD", "wget", "-q", "--spider", `http://localhost:${cadvisorPort.internal}/healthz`] },
    };
}

/** autoheal restarts containers labelled autoheal=true whose healthcheck fails. */
function autoheal(images: Images): ContainerSpec {
    return {
        name: "autoheal",
        image: images.autoheal,
        mounts: [{ containerPath: "/var/run/docker.sock", hostPath: "/var/run/docker.sock" }],
        env: { AUTOHEAL_CONTAINER_LABEL: "autoheal", AUTOHEAL_INTERVAL: "10", AUTOHEAL_START_PERIOD: "120" },
        healthcheck: { test: ["CMD", "curl", "-sf", "--unix-socket", "/var/run/docker.sock", "http://localhost/_ping"] },
    };
}

/** The agents every enabled machine runs, whatever its roles. */
export function hostAgentSpecs(machine: PlacedMachine, images: Images): ContainerSpec[] {
    return [nodeExporter(machine, images), cadvisor(images), autoheal(images)];
}
