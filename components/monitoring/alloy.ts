/** What the log shipper of one machine needs to know. */
export interface AlloyConfigInput {
    /** The machine's name: every log line it ships carries it as the `machine` label. */
    readonly machine: string;
    /** The Docker label the container builder puts the service name in (`ai-platform.service`). */
    readonly serviceLabel: string;
    /** Loki's push endpoint; absent when no machine has the monitoring role (then nothing is shipped). */
    readonly lokiPushUrl?: string;
}

export const alloyPaths = { config: "/etc/alloy/config.alloy", data: "/var/lib/alloy/data", dockerSocket: "/var/run/docker.sock" } as const;

function quote(value: string): string {
    return JSON.stringify(value);
}

/**
 * The target label `discovery.docker` gives a container's Docker label: Prometheus's Docker
 * discovery (which Alloy embeds) replaces every character outside [a-zA-Z0-9_] with `_`.
 */
export function dockerLabelMeta(dockerLabel: string): string {
    return `__meta_docker_container_label_${dockerLabel.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

/**
 * Alloy config: discover the machine's containers through the Docker socket and ship their logs
 * to Loki, labelled with the machine, with the service from the container builder's service
 * label, and with the container name.
 */
export function renderAlloyConfig(input: AlloyConfigInput): string {
    const socket = quote(`unix://${alloyPaths.dockerSocket}`);
    const logging = `logging {\n  level  = "warn"\n  format = "logfmt"\n}\n`;
    if (input.lokiPushUrl === undefined) return logging;
    return `${logging}
discovery.docker "containers" {
  host             = ${socket}
  refresh_interval = "30s"
}

discovery.relabel "containers" {
  targets = []

  rule {
    source_labels = ["__meta_docker_container_name"]
    regex         = "/(.*)"
    target_label  = "container"
  }

  rule {
    source_labels = [${quote(dockerLabelMeta(input.serviceLabel))}]
    target_label  = "service"
  }
}

loki.source.docker "containers" {
  host          = ${socket}
  targets       = discovery.docker.containers.targets
  labels        = { machine = ${quote(input.machine)} }
  relabel_rules = discovery.relabel.containers.rules
  forward_to    = [loki.write.platform.receiver]
}

loki.write "platform" {
  endpoint {
    url = ${quote(input.lokiPushUrl)}
  }
}
`;
}
