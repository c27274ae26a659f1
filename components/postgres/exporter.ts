import * as pulumi from "@pulumi/pulumi";
import { ContainerSpec } from "../container/spec";
import { exporterRole, passwordFile } from "./roles";

const exporterPort = 9187;

export interface ExporterSpecArgs {
    /** The service name: postgres-exporter or postgres-replica-exporter. */
    readonly name: string;
    readonly image: string;
    /** The server's alias on the shared network. */
    readonly serverAlias: string;
    /** The port published on the machine's LAN address for Prometheus. */
    readonly publishedPort: number;
    /** The network the server answers on. */
    readonly network: pulumi.Input<string>;
    /** The exporter role's password (a secret, uploaded as a file). */
    readonly password: pulumi.Output<string>;
}

/** postgres-exporter reading one server as the pg_monitor role; the image is busybox-based, so wget checks it. */
export function exporterSpec(args: ExporterSpecArgs): ContainerSpec {
    return {
        name: args.name,
        image: args.image,
        ports: [{ internal: exporterPort, external: args.publishedPort }],
        env: {
            DATA_SOURCE_URI: `${args.serverAlias}:5432/postgres?sslmode=disable`,
            DATA_SOURCE_USER: exporterRole,
            DATA_SOURCE_PASS_FILE: passwordFile(exporterRole),
        },
        secretFiles: [{ path: passwordFile(exporterRole), content: args.password }],
        networks: [{ name: args.network }],
        healthcheck: { test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${exporterPort}/`] },
    };
}
