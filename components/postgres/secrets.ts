import * as pulumi from "@pulumi/pulumi";
import { GeneratedSecretName, PlatformSecrets } from "../secrets/secrets";
import { passwordSecretName } from "./connection";
import { appDatabases, exporterRole, passwordFile, replicationRole, superuser } from "./roles";

const secretOfRole: Readonly<Record<string, GeneratedSecretName>> = {
    [superuser]: "postgres-superuser",
    [replicationRole]: "postgres-replication",
    [exporterRole]: "postgres-exporter",
    ...Object.fromEntries(appDatabases.map((app) => [app, passwordSecretName(app)])),
};

/** The generated password of a login role. */
export function rolePassword(secrets: PlatformSecrets, role: string): pulumi.Output<string> {
    const name = secretOfRole[role];
    if (name === undefined) throw new Error(`no generated password for PostgreSQL role ${role}`);
    return secrets.values[name];
}

/** The roles' password files, as container uploads at passwordFile(role). */
export function passwordFiles(secrets: PlatformSecrets, roles: readonly string[]): { path: string; content: pulumi.Output<string> }[] {
    return roles.map((role) => ({ path: passwordFile(role), content: rolePassword(secrets, role) }));
}
