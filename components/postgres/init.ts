import { appDatabases, exporterRole, passwordRoles, replicationRole, secretsDir } from "./roles";
import { renderHba } from "./server";

export interface InitScriptArgs {
    /** The LAN the clients and the replica connect from. */
    readonly lanCidr: string;
    /** The replica's physical slot; omit when no replica is placed (an unused slot holds WAL back). */
    readonly replicationSlot?: string;
}

/** Its file name under /docker-entrypoint-initdb.d (not executable: the entrypoint sources it). */
export const initScriptName = "10-ai-platform.sh";

function roleSql(slot: string | undefined): string[] {
    const setPassword = (role: string) => `\\set password \`cat :'secrets_dir'/${role}\``;
    const apps = appDatabases.flatMap((app) => [
        setPassword(app),
        `CREATE ROLE ${app} WITH LOGIN PASSWORD :'password';`,
        `CREATE DATABASE ${app} OWNER ${app};`,
        `REVOKE ALL ON DATABASE ${app} FROM PUBLIC;`,
    ]);
    return [
        "-- A failing statement is logged with its text by default, and these carry passwords.",
        "SET log_min_error_statement = panic;",
        "SET log_statement = 'none';",
        "SET password_encryption = 'scram-sha-256';",
        setPassword(replicationRole),
        `CREATE ROLE ${replicationRole} WITH LOGIN REPLICATION PASSWORD :'password';`,
        ...(slot === undefined ? [] : [`SELECT pg_create_physical_replication_slot('${slot}');`]),
        setPassword(exporterRole),
        `CREATE ROLE ${exporterRole} WITH LOGIN PASSWORD :'password';`,
        `GRANT pg_monitor TO ${exporterRole};`,
        ...apps,
        "\\unset password",
        "-- Each app reaches its own database only: no default CONNECT on the maintenance databases.",
        "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;",
        "REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;",
        `GRANT CONNECT ON DATABASE postgres TO ${exporterRole};`,
    ];
}

/**
 * The primary's init script for /docker-entrypoint-initdb.d. The image's entrypoint sources it
 * once, on an empty data directory, with a socket-only server running and POSTGRES_USER and
 * PGDATA set. Passwords are read from files by psql itself (`\set ... \`cat file\``): none is
 * on a command line, in this script, or in the server log.
 */
export function renderInitScript(args: InitScriptArgs): string {
    return [
        "#!/usr/bin/env bash",
        "# Rendered by ai-platform (components/postgres/init.ts). Sourced by the image's entrypoint",
        "# on first start: roles, the replica's slot, the app databases, then pg_hba.conf.",
        "",
        "ai_platform_init() {",
        `\tlocal secrets_dir="\${POSTGRES_SECRETS_DIR:-${secretsDir}}"`,
        "\tlocal role",
        `\tfor role in ${passwordRoles.join(" ")}; do`,
        '\t\tif [ ! -s "$secrets_dir/$role" ]; then',
        "\t\t\tprintf 'ai-platform init: missing password file %s\\n' \"$secrets_dir/$role\" >&2",
        "\t\t\treturn 1",
        "\t\tfi",
        "\tdone",
        "",
        '\tpsql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" --dbname postgres \\',
        "\t\t--set secrets_dir=\"$secrets_dir\" <<'EOSQL'",
        ...roleSql(args.replicationSlot),
        "EOSQL",
        "",
        "\tcat > \"$PGDATA/pg_hba.conf\" <<'EOHBA'",
        renderHba(args.lanCidr).trimEnd(),
        "EOHBA",
        "}",
        "",
        "ai_platform_init",
        "unset -f ai_platform_init",
        "",
    ].join("\n");
}
