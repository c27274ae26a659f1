import * as pulumi from "@pulumi/pulumi";
import { findService } from "../../machines/placement";
import { PlatformContext } from "../context";
import { GeneratedSecretName } from "../secrets/secrets";
import { AppDatabase } from "./roles";

export { appDatabases } from "./roles";
export type { AppDatabase } from "./roles";

/** How an application reaches its database on the primary. */
export interface DatabaseConnection {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
    /** The owner's generated password (a Pulumi secret). */
    readonly password: pulumi.Output<string>;
    /** `postgresql://user:password@host:port/database` (a Pulumi secret). */
    readonly url: pulumi.Output<string>;
}

export function passwordSecretName(app: AppDatabase): GeneratedSecretName {
    return `postgres-${app}`;
}

/** Where the app's container runs, and whether it shares its machine's network namespace. */
export interface DatabaseClient {
    readonly machine: string;
    readonly hostNetwork: boolean;
}

/**
 * The connection to an app's database on the primary as the app's container reaches it: across
 * the LAN (the primary's published port), or by container name on the Docker network when both
 * run on one machine, whose LAN address may be 127.0.0.1 (the local stack): inside a bridged
 * container that is the container itself.
 */
export function databaseConnection(context: PlatformContext, app: AppDatabase, client: DatabaseClient): DatabaseConnection {
    const primary = findService(context.placement, "postgres");
    if (primary === undefined || primary.port === undefined) throw new Error("no database machine is placed (config validation requires one)");
    const password = context.secrets.values[passwordSecretName(app)];
    const bridgedNeighbour = primary.machine === client.machine && !client.hostNetwork;
    const host = bridgedNeighbour ? `${primary.machine}-postgres` : primary.address;
    const port = bridgedNeighbour ? primary.port.internal : primary.port.external;
    return {
        host,
        port,
        database: app,
        user: app,
        password,
        url: pulumi.secret(pulumi.interpolate`postgresql://${app}:${password}@${host}:${port}/${app}`),
    };
}
