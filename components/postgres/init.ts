import { appDatabases, exporterRole, passwordRoles, replicationRole, secretsDir, superuser } from "./roles";
import { renderHba } from "./server";

export interface InitScriptArgs {
    /** The LAN the clients and the replica connect from. */
    readonly lanCidr: string;
    /** The replica's physical slot; omit when no replica is placed (an unused slot holds WAL back). */
    readonly replicationSlot?: string;
}

/** Its file name under /docker-entrypoint-initdb.d (not executable: the entrypoint sources it). */
export const initScriptName = "10-ai-platform.sh";
/** Where the init script is uploaded: the image's entrypoint sources it on first start, the primary's wrapper on every later one. */
export const initScriptPath = `/docker-entrypoint-initdb.d/${initScriptName}`;

/** `CREATE <what>` only when `exists` finds nothing: psql's \gexec runs the generated statement, if any. */
function createIfMissing(exists: string, create: string): string {
    return `SELECT ${quoteLiteral(create)} WHERE NOT EXISTS (${exists})\\gexec`;
}

function quoteLiteral(text: string): string {
    return `'${text.replace(/'/g, "''")}'`;
}

/**
 * The desired state of roles, passwords, databases, grants and the slot, as SQL that may run any
 * number of times: what is missing is created, every password is set again from its file (so a
 * rotated secret takes effect on the next start), and nothing that exists is dropped.
 */
function reconcileSql(slot: string | undefined): string[] {
    const setPassword = (role: string) => `\\set password \`cat :'secrets_dir'/${role}\``;
    const role = (name: string, attributes: string) => [
        createIfMissing(`SELECT FROM pg_roles WHERE rolname = '${name}'`, `CREATE ROLE ${name}`),
        setPassword(name),
        `ALTER ROLE ${name} WITH ${attributes} PASSWORD :'password';`,
    ];
    const apps = appDatabases.flatMap((app) => [
        ...role(app, "LOGIN"),
        createIfMissing(`SELECT FROM pg_database WHERE datname = '${app}'`, `CREATE DATABASE ${app} OWNER ${app}`),
        `REVOKE ALL ON DATABASE ${app} FROM PUBLIC;`,
    ]);
    return [
        "-- A failing statement is logged with its text by default, and these carry passwords.",
        "SET log_min_error_statement = panic;",
        "SET log_statement = 'none';",
        "SET password_encryption = 'scram-sha-256';",
        "SET client_min_messages = warning;",
        // The image sets it from POSTGRES_PASSWORD_FILE at initdb only.
        setPassword(superuser),
        `ALTER ROLE ${superuser} WITH PASSWORD :'password';`,
        ...role(replicationRole, "LOGIN REPLICATION"),
        ...(slot === undefined
            ? []
            : [
                  "-- A replica added after the first start finds its slot: created here when missing, never dropped.",
                  `DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '${slot}') THEN PERFORM pg_create_physical_replication_slot('${slot}'); END IF; END$$;`,
              ]),
        ...role(exporterRole, "LOGIN"),
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
 * The primary's reconcile script. The image's entrypoint sources it from /docker-entrypoint-initdb.d
 * on first start (empty data directory); the primary's wrapper entrypoint (renderPrimaryEntrypoint)
 * sources it on every later start, against a socket-only server, before the real server starts. Both
 * run with POSTGRES_USER and PGDATA set. It creates what is missing (roles, databases, the replica's
 * slot), sets every password from its file, and rewrites pg_hba.conf: idempotent, so a rotated
 * password, a replica added later or a new lanCidr take effect on the next start. Passwords are read
 * from files by psql itself (`\set ... \`cat file\``): none is on a command line, in this script,
 * or in the server log.
 */
export function renderInitScript(args: InitScriptArgs): string {
    return [
        "#!/usr/bin/env bash",
        "# Rendered by ai-platform (components/postgres/init.ts). Sourced by the image's entrypoint on",
        "# first start, and by the primary's wrapper entrypoint on every later start: roles and their",
        "# passwords, the replica's slot, the app databases, then pg_hba.conf. Idempotent.",
        "",
        "ai_platform_init() {",
        `\tlocal secrets_dir="\${POSTGRES_SECRETS_DIR:-${secretsDir}}"`,
        "\tlocal role",
        `\tfor role in ${[superuser, ...passwordRoles].join(" ")}; do`,
        '\t\tif [ ! -s "$secrets_dir/$role" ]; then',
        "\t\t\tprintf 'ai-platform init: missing password file %s\\n' \"$secrets_dir/$role\" >&2",
        "\t\t\treturn 1",
        "\t\tfi",
        "\tdone",
        "",
        '\tpsql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --quiet --username "$POSTGRES_USER" --dbname postgres \\',
        "\t\t--set secrets_dir=\"$secrets_dir\" <<'EOSQL'",
        ...reconcileSql(args.replicationSlot),
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
