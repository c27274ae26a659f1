/** What the log shipper of one machine needs to know. */
export interface AlloyConfigInput {
    /** The machine's name: every log line it ships carries it as the `machine` label. */
    readonly machine: string;
    /** Loki's push endpoint; absent when no machine has the monitoring role (then nothing is shipped). */
    readonly lokiPushUrl?: string;
}

export const alloyPaths = { config: "/etc/alloy/config.alloy", data: "/var/lib/alloy/data", dockerSocket: "/var/run/docker.sock" } as const;

function quote(value: string): string {
    return JSON.stringify(value);
}

/**
 * Alloy config: discover the machine's containers through the Docker socket and ship their logs
 * to Loki, labelled with the machine, and with the service and container from the
 * `ai-platform.*` labels the container builder sets (Docker label dots become underscores).
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
    source_labels = ["__meta_docker_container_label_ai_platform_service"]
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
