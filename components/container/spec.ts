import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { goDuration } from "./duration";

/** A Docker healthcheck; `test` is Docker's form (`["CMD", ...]` or `["CMD-SHELL", "..."]`). */
export interface Healthcheck {
    readonly test: readonly string[];
    readonly interval?: string;
    readonly timeout?: string;
    readonly retries?: number;
    readonly startPeriod?: string;
}

/** For an image that cannot run a healthcheck (built from scratch: no shell, no client). */
export interface NoHealthcheck {
    readonly none: string;
}

/** A file written into the container before it starts. */
export interface ContainerFile {
    readonly path: string;
    readonly content: pulumi.Input<string>;
    readonly executable?: boolean;
}

/** A port published on the machine's LAN address. */
export interface PublishedPort {
    readonly internal: number;
    readonly external: number;
    readonly protocol?: "tcp" | "udp";
}

export interface ContainerMount {
    readonly containerPath: string;
    /** A Docker volume by name (a local or NFS volume created on the machine). */
    readonly volumeName?: pulumi.Input<string>;
    /** A local named volume `ai-<part>` that the machine creates with the container (retained on delete). */
    readonly localVolume?: string;
    /** A path on the host (host agents only: they read the host). */
    readonly hostPath?: string;
    /** Bind propagation of a host path: `rslave` lets the container see filesystems mounted on the host later. */
    readonly propagation?: "rslave";
    readonly readOnly?: boolean;
}

/** Everything a service says about its container; the builder adds the platform's hardening. */
export interface ContainerSpec {
    /** Service name: the container is named `<machine>-<name>` and labelled with it. */
    readonly name: string;
    /** Pinned image reference. */
    readonly image: string;
    readonly healthcheck: Healthcheck | NoHealthcheck;
    readonly ports?: readonly PublishedPort[];
    /** Plain environment variables. Never a secret: use `secretEnv` or `secretFiles`. */
    readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Environment variables holding secrets, for images with no `*_FILE` support. */
    readonly secretEnv?: Readonly<Record<string, pulumi.Output<string>>>;
    /** Non-secret files (rendered configs, scripts). */
    readonly files?: readonly ContainerFile[];
    /** Secret files, read by the image's `*_FILE` variables; mode 0400 is not settable, so keep them out of shared volumes. */
    readonly secretFiles?: readonly { readonly path: string; readonly content: pulumi.Output<string> }[];
    readonly mounts?: readonly ContainerMount[];
    /** Networks on the machine and the aliases the container answers to there. */
    readonly networks?: readonly { readonly name: pulumi.Input<string>; readonly aliases?: readonly string[] }[];
    readonly command?: readonly pulumi.Input<string>[];
    readonly entrypoint?: readonly string[];
    readonly user?: string;
    /** Share the host's network namespace (host agents that must see the host). */
    readonly hostNetwork?: boolean;
    readonly pidMode?: "host";
    readonly privileged?: boolean;
    readonly devices?: readonly string[];
    readonly groupAdds?: readonly string[];
    /** Every NVIDIA GPU of the machine, through the NVIDIA container toolkit. */
    readonly nvidiaGpus?: boolean;
    readonly capabilities?: readonly string[];
    readonly shmSizeMb?: number;
    /** Seconds Docker waits after SIGTERM before killing it (default 10; a database needs longer to shut down cleanly). */
    readonly stopTimeoutSeconds?: number;
    /** Further labels (Traefik, Prometheus); platform labels are added by the builder. */
    readonly labels?: Readonly<Record<string, string>>;
}

/** Where the container runs: the machine's name and LAN address. */
export interface ContainerHost {
    readonly machine: string;
    readonly address: string;
}

export const logRotation = { "max-size": "10m", "max-file": "3" } as const;
/** Docker's own stop timeout, used where a service asks for none. */
export const defaultStopTimeoutSeconds = 10;
export const platformLabel = "ai-platform";

export function hasHealthcheck(spec: ContainerSpec): spec is ContainerSpec & { healthcheck: Healthcheck } {
    return "test" in spec.healthcheck;
}

/**
 * The platform's container hardening, as plain ContainerArgs: restart policy, healthcheck,
 * json-file log rotation, labels, ports bound to the LAN address, secrets as files.
 */
export function containerArgs(host: ContainerHost, spec: ContainerSpec, imageId: pulumi.Input<string>): docker.ContainerArgs {
    const stopTimeout = spec.stopTimeoutSeconds ?? defaultStopTimeoutSeconds;
    const labels: Record<string, string> = {
        [`${platformLabel}.platform`]: platformLabel,
        [`${platformLabel}.machine`]: host.machine,
        [`${platformLabel}.service`]: spec.name,
        ...(hasHealthcheck(spec)
            ? // autoheal stops a container with its own 10 s unless the container says otherwise.
              { autoheal: "true", "autoheal.stop.timeout": String(stopTimeout) }
            : { [`${platformLabel}.no-healthcheck`]: (spec.healthcheck as NoHealthcheck).none }),
        ...spec.labels,
    };
    const health = hasHealthcheck(spec) ? spec.healthcheck : undefined;
    const env = Object.entries(spec.env ?? {}).map(([key, value]) => pulumi.interpolate`${key}=${value}`);
    const secretEnv = Object.entries(spec.secretEnv ?? {}).map(([key, value]) => pulumi.secret(pulumi.interpolate`${key}=${value}`));
    return {
        name: `${host.machine}-${spec.name}`,
        image: imageId,
        restart: "unless-stopped",
        logDriver: "json-file",
        logOpts: { ...logRotation },
        labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
        healthcheck: health && {
            tests: [...health.test],
            // The provider reads durations back in Go's spelling; every other spelling is a change on every up.
            interval: goDuration(health.interval ?? "30s"),
            timeout: goDuration(health.timeout ?? "10s"),
            retries: health.retries ?? 3,
            startPeriod: goDuration(health.startPeriod ?? "30s"),
        },
        ports: spec.hostNetwork
            ? undefined
            : (spec.ports ?? []).map((port) => ({ internal: port.internal, external: port.external, ip: host.address, protocol: port.protocol ?? "tcp" })),
        envs: [...env, ...secretEnv],
        uploads: [
            // `executable` alone uploads root-owned 0744: a script an image runs as its own user could not be executed.
            ...(spec.files ?? []).map((file) => ({ file: file.path, content: file.content, executable: file.executable ?? false, ...(file.executable ? { permissions: "0755" } : {}) })),
            ...(spec.secretFiles ?? []).map((file) => ({ file: file.path, content: pulumi.secret(file.content) })),
        ],
        volumes: (spec.mounts ?? [])
            .filter((mount) => mount.propagation === undefined)
            .map((mount) => ({ containerPath: mount.containerPath, volumeName: mount.volumeName, hostPath: mount.hostPath, readOnly: mount.readOnly ?? false })),
        // Only the mounts API sets bind propagation.
        mounts: (spec.mounts ?? [])
            .filter((mount) => mount.propagation !== undefined)
            .map((mount) => ({ type: "bind", source: mount.hostPath, target: mount.containerPath, readOnly: mount.readOnly ?? false, bindOptions: { propagation: mount.propagation } })),
        networkMode: spec.hostNetwork ? "host" : undefined,
        networksAdvanced: spec.hostNetwork ? undefined : (spec.networks ?? []).map((network) => ({ name: network.name, aliases: network.aliases && [...network.aliases] })),
        command: spec.command && [...spec.command],
        entrypoints: spec.entrypoint && [...spec.entrypoint],
        user: spec.user,
        pidMode: spec.pidMode,
        privileged: spec.privileged,
        devices: spec.devices?.map((hostPath) => ({ hostPath })),
        groupAdds: spec.groupAdds && [...spec.groupAdds],
        gpus: spec.nvidiaGpus ? "all" : undefined,
        // The daemon reports capabilities with the CAP_ prefix; without it the provider sees a change and replaces.
        capabilities: spec.capabilities && { adds: spec.capabilities.map((capability) => (capability.startsWith("CAP_") ? capability : `CAP_${capability}`)) },
        shmSize: spec.shmSizeMb,
        stopTimeout: spec.stopTimeoutSeconds,
        // On replace and destroy the provider stops with a zero timeout (SIGKILL at once) unless this is set.
        destroyGraceSeconds: stopTimeout,
        mustRun: true,
        wait: false,
    };
}
