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

/** The connection to an app's database on the primary, across the LAN (the primary's published port). */
export function databaseConnection(context: PlatformContext, app: AppDatabase): DatabaseConnection {
    const primary = findService(context.placement, "postgres");
    if (primary === undefined || primary.port === undefined) throw new Error("no database machine is placed (config validation requires one)");
    const password = context.secrets.values[passwordSecretName(app)];
    const host = primary.address;
    const port = primary.port.external;
    return {
        host,
        port,
        database: app,
        user: app,
        password,
        url: pulumi.secret(pulumi.interpolate`postgresql://${app}:${password}@${host}:${port}/${app}`),
    };
}
