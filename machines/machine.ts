import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ContainerSpec, containerArgs } from "../components/container/spec";
import { PlatformConfig } from "../config/platform";
import { hostAgentSpecs } from "./agents";
import { NasExport, PlacedMachine, PlacedService } from "./placement";
import { ServiceName, ServicePort } from "./services";
import { preflightCommand } from "./preflight-command";
import { firewallCommand } from "./firewall-command";
import { MachineFirewall } from "../components/firewall/policy";

/** SSH options for the Docker provider: it opens a session per operation, so share one and keep it alive. */
export const sshOptions = [
    "-o", "ControlMaster=auto",
    "-o", "ControlPath=~/.ssh/cm-%C",
    "-o", "ControlPersist=60s",
    "-o", "ServerAliveInterval=30",
    "-o", "BatchMode=yes",
];

export interface MachineArgs {
    /** The machine as placed: address, roles, GPU, Docker host, services, NAS mounts. */
    readonly placed: PlacedMachine;
    /** The validated platform config (images, NAS). */
    readonly config: PlatformConfig;
    /** The SSH private key (the user's secret ssh.privateKey) for the preflight check; ssh-agent when absent. */
    readonly sshPrivateKey?: pulumi.Input<string>;
    /** This machine's host firewall (components/firewall); absent when it is switched off or not needed. */
    readonly firewall?: MachineFirewall;
}

/**
 * One lab machine: its Docker provider over SSH, its networks, NAS volumes and host agents.
 * Every resource on the machine descends from this component and is named `<machine>-...`,
 * so destroying the component (or `enabled: false`) removes the machine alone.
 */
export class Machine extends pulumi.ComponentResource {
    /** The machine's name, as in config. */
    public readonly machineName: string;
    /** The machine as placed. */
    public readonly placed: PlacedMachine;
    /** The Docker daemon of this machine; every container here uses it. */
    public readonly provider: docker.Provider;
    /** Bridge network for services that publish ports. */
    public readonly frontendNetwork: docker.Network;
    /** Internal network (no route out) for same-machine traffic such as a database and its exporter. */
    public readonly backendNetwork: docker.Network;
    /** NFS volumes of the NAS exports this machine uses (local volumes when the lab has no NAS). */
    public readonly nasVolumes: Readonly<Partial<Record<NasExport, docker.Volume>>>;
    /** Checks Docker, the GPU stack and the NAS exports on the machine; every container here waits for it. */
    public readonly preflight: pulumi.CustomResource;
    /** Installs the host firewall (after the preflight); every container here waits for it. */
    public readonly firewall?: pulumi.CustomResource;
    private readonly config: PlatformConfig;
    private readonly images = new Map<string, docker.RemoteImage>();

    constructor(name: string, args: MachineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-platform:machines:Machine", name, {}, opts);
        this.machineName = name;
        this.placed = args.placed;
        this.config = args.config;
        this.preflight = preflightCommand(args.placed, args.config, args.sshPrivateKey, this, args.firewall !== undefined);
        this.firewall = args.firewall && firewallCommand(args.placed, args.firewall, args.config, args.sshPrivateKey, this.preflight, this);

        const sshHost = args.placed.dockerHost.startsWith("ssh://");
        this.provider = new docker.Provider(`${name}-docker`, { host: args.placed.dockerHost, sshOpts: sshHost ? sshOptions : undefined }, { parent: this });

        const resourceOpts = { parent: this, provider: this.provider };
        this.frontendNetwork = new docker.Network(`${name}-frontend`, { name: "ai-frontend", driver: "bridge", labels: this.labels("frontend") }, resourceOpts);
        this.backendNetwork = new docker.Network(
            `${name}-backend`,
            { name: "ai-backend", driver: "bridge", internal: true, labels: this.labels("backend") },
            resourceOpts,
        );

        const volumes: Partial<Record<NasExport, docker.Volume>> = {};
        for (const exportName of args.placed.mounts) volumes[exportName] = this.nasVolume(exportName);
        this.nasVolumes = volumes;

        for (const spec of hostAgentSpecs(args.placed, args.config)) this.container(spec, this);

        this.registerOutputs({ provider: this.provider, frontendNetwork: this.frontendNetwork.name, backendNetwork: this.backendNetwork.name });
    }

    /**
     * The image pulled once on this machine, shared by every container that uses it. `builtBy`
     * names the build that tags `ref` on this daemon: the image is then looked up after it, not pulled.
     */
    public image(ref: string, builtBy?: pulumi.Resource): docker.RemoteImage {
        let image = this.images.get(ref);
        if (image === undefined) {
            const slug = ref.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
            image = new docker.RemoteImage(
                `${this.machineName}-image-${slug}`,
                { name: ref, keepLocally: true },
                { parent: this, provider: this.provider, dependsOn: builtBy && [builtBy] },
            );
            this.images.set(ref, image);
        }
        return image;
    }

    /** The one way to run a container: the platform's hardening, on this machine's daemon, under `parent`. */
    public container(spec: ContainerSpec, parent: pulumi.Resource, opts?: pulumi.CustomResourceOptions): docker.Container {
        const image = this.image(spec.image);
        const mounts = spec.mounts?.map((mount) =>
            mount.localVolume === undefined ? mount : { ...mount, volumeName: this.localVolume(mount.localVolume, parent).name },
        );
        return new docker.Container(
            `${this.machineName}-${spec.name}`,
            containerArgs({ machine: this.machineName, address: this.placed.address }, { ...spec, mounts }, image.imageId),
            { ...opts, parent, provider: this.provider, dependsOn: [...withPreflight(this.preflight, opts?.dependsOn), ...(this.firewall ? [this.firewall] : [])] },
        );
    }

    /** The instance of a service placed on this machine; throws when placement put it elsewhere. */
    public service(name: ServiceName): PlacedService {
        const found = this.placed.services.find((service) => service.service === name);
        if (found === undefined) throw new Error(`${name} is not placed on ${this.machineName}`);
        return found;
    }

    /** A service's published port on this machine (after \`ports\` overrides): its main port, or a named extra port. */
    public port(name: ServiceName, extra?: string): ServicePort {
        const service = this.service(name);
        const port = extra === undefined ? service.port : service.extraPorts[extra];
        if (port === undefined) throw new Error(`${service.instance} publishes no ${extra ?? "main"} port`);
        return port;
    }

    /** A local named volume on this machine (databases, SQLite stores: never NFS). */
    public localVolume(part: string, parent: pulumi.Resource): docker.Volume {
        return new docker.Volume(
            `${this.machineName}-${part}`,
            { name: `ai-${part}`, driver: "local", labels: this.labels(part) },
            { parent, provider: this.provider, retainOnDelete: true },
        );
    }

    /**
     * The volume behind a NAS export: NFS with a NAS. Without one it is local to this machine and
     * retained when the machine goes (a model store is costly to pull again; backups are the point):
     * the local volume `ai-<export>`, or for backups the directory `postgres.backupHostPath` when set.
     */
    private nasVolume(exportName: NasExport): docker.Volume {
        const nas = this.config.nas;
        if (nas === undefined) {
            const hostPath = exportName === "backups" ? this.config.postgres.backupHostPath : undefined;
            const bind = hostPath === undefined ? {} : { driverOpts: { type: "none", o: "bind", device: hostPath } };
            return new docker.Volume(
                `${this.machineName}-${exportName}`,
                { name: `ai-${exportName}`, driver: "local", ...bind, labels: this.labels(exportName) },
                { parent: this, provider: this.provider, retainOnDelete: true },
            );
        }
        const args: docker.VolumeArgs = {
            name: `ai-nas-${exportName}`,
            driver: "local",
            driverOpts: { type: "nfs", o: `addr=${nas.address},rw,nfsvers=${nas.nfsVersion},hard,noatime`, device: `:${nas.exports[exportName]}` },
            labels: this.labels(exportName),
        };
        return new docker.Volume(`${this.machineName}-${exportName}`, args, { parent: this, provider: this.provider });
    }

    private labels(part: string): docker.types.input.VolumeLabel[] {
        return [
            { label: "ai-platform.platform", value: "ai-platform" },
            { label: "ai-platform.machine", value: this.machineName },
            { label: "ai-platform.part", value: part },
        ];
    }
}

/** `dependsOn` plus the machine's preflight (the SDK flattens nested inputs, so any form of `dependsOn` fits). */
function withPreflight(preflight: pulumi.Resource, dependsOn: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
    if (dependsOn === undefined) return [preflight];
    return Array.isArray(dependsOn) ? [preflight, ...dependsOn] : [preflight, dependsOn as pulumi.Input<pulumi.Resource>];
}
