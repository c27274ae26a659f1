import { Images } from "../config/images";
import { PlatformConfig } from "../config/platform";
import { ContainerSpec, platformLabel } from "../components/container/spec";
import { alloyPaths, renderAlloyConfig } from "../components/monitoring/alloy";
import { textfileHostDir } from "../components/postgres/backup";
import { findService, lanUrl, place, PlacedMachine } from "./placement";
import { ServiceName, ServicePort, serviceKinds } from "./services";

const nodeExporterPort = serviceKinds["node-exporter"].port;
const cadvisorPort = serviceKinds.cadvisor.port;
const serviceLabel = `${platformLabel}.service`;
const machineLabel = `${platformLabel}.machine`;

/** node-exporter sees the host: its network (to report real interfaces), its PID space and root. */
function nodeExporter(machine: PlacedMachine, images: Images): ContainerSpec {
    const listen = `${machine.address}:${nodeExporterPort.external}`;
    return {
        name: "node-exporter",
        image: images.nodeExporter,
        hostNetwork: true,
        pidMode: "host",
        mounts: [{ containerPath: "/host", hostPath: "/", readOnly: true, propagation: "rslave" }],
        command: [
            "--path.rootfs=/host",
            `--web.listen-address=${listen}`,
            "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+)($|/)",
            // The backup container's hook writes the last backup's outcome there (components/postgres/backup.ts).
            ...(machine.roles.includes("database") ? [`--collector.textfile.directory=/host${textfileHostDir}`] : []),
        ],
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
        command: ["--docker_only=true", "--housekeeping_interval=30s", "--store_container_labels=false", `--whitelisted_container_labels=${serviceLabel},${machineLabel}`],
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

/** The port a service publishes on this machine, when it is placed here. */
function placedPort(machine: PlacedMachine, service: ServiceName): ServicePort | undefined {
    return machine.services.find((placed) => placed.service === service)?.port;
}

/** An HTTP check with bash alone (`/dev/tcp`), for images that ship neither curl nor wget. */
function bashHttpCheck(host: string, port: number, path: string): string[] {
    return ["CMD", "bash", "-c", `exec 3<>/dev/tcp/${host}/${port} && printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3 && read -r _ status _ <&3 && [ "$status" = 200 ]`];
}

/**
 * Grafana Alloy ships every container's logs on the machine to Loki; its image has bash but no
 * HTTP client. It shares the host's network (listening on the LAN address only) so that Loki's
 * LAN URL works even where that address is 127.0.0.1.
 */
function alloy(machine: PlacedMachine, port: ServicePort, images: Images, lokiPushUrl: string | undefined): ContainerSpec {
    return {
        name: "alloy",
        image: images.alloy,
        hostNetwork: true,
        mounts: [
            { containerPath: alloyPaths.dockerSocket, hostPath: alloyPaths.dockerSocket, readOnly: true },
            // Read positions survive a restart, so logs are neither lost nor shipped twice.
            { containerPath: alloyPaths.data, localVolume: "alloy-data" },
        ],
        files: [{ path: alloyPaths.config, content: renderAlloyConfig({ machine: machine.name, serviceLabel, lokiPushUrl }) }],
        command: ["run", `--server.http.listen-addr=${machine.address}:${port.external}`, `--storage.path=${alloyPaths.data}`, alloyPaths.config],
        healthcheck: { test: bashHttpCheck(machine.address, port.external, "/-/ready") },
    };
}

/** NVIDIA DCGM exporter: all GPUs, SYS_ADMIN for the profiling counters; Ubuntu-based, no HTTP client. */
function dcgmExporter(port: ServicePort, images: Images): ContainerSpec {
    return {
        name: "dcgm-exporter",
        image: images.dcgmExporter,
        ports: [port],
        nvidiaGpus: true,
        capabilities: ["SYS_ADMIN"],
        healthcheck: { test: bashHttpCheck("127.0.0.1", port.internal, "/health") },
    };
}

/** AMD device-metrics-exporter reads the GPUs through /dev/kfd and /dev/dri; UBI-based, with bash. */
function amdExporter(port: ServicePort, images: Images): ContainerSpec {
    return {
        name: "amd-exporter",
        image: images.amdExporter,
        ports: [port],
        devices: ["/dev/kfd", "/dev/dri"],
        healthcheck: { test: bashHttpCheck("127.0.0.1", port.internal, "/metrics") },
    };
}

/** Loki's push endpoint on the monitoring machine, if one is enabled. */
function lokiPushUrl(config: PlatformConfig): string | undefined {
    const loki = findService(place(config), "loki");
    return loki && lanUrl(loki, "/loki/api/v1/push");
}

/** The agents every enabled machine runs, whatever its roles, plus the GPU exporter its GPU calls for. */
export function hostAgentSpecs(machine: PlacedMachine, config: PlatformConfig): ContainerSpec[] {
    const images = config.images;
    const specs = [nodeExporter(machine, images), cadvisor(images), autoheal(images)];
    const alloyPort = placedPort(machine, "alloy");
    if (alloyPort) specs.push(alloy(machine, alloyPort, images, lokiPushUrl(config)));
    const dcgmPort = placedPort(machine, "dcgm-exporter");
    if (dcgmPort) specs.push(dcgmExporter(dcgmPort, images));
    const amdPort = placedPort(machine, "amd-exporter");
    if (amdPort) specs.push(amdExporter(amdPort, images));
    return specs;
}
