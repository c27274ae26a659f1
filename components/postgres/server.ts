import { Healthcheck } from "../container/spec";
import { replicationRole, superuser } from "./roles";

export interface ServerSettingsArgs {
    /** WAL a lagging or absent replica's slot may hold back before the primary drops it (GB). */
    readonly maxSlotWalKeepSizeGb: number;
    /** The server's machine: a standby reports it as its application_name in the primary's pg_stat_replication. */
    readonly clusterName: string;
}

/**
 * The server settings both servers run with, as `postgres -c` pairs. The replica gets the same
 * values: a standby refuses to start with max_wal_senders and friends below the primary's.
 */
export function serverSettings(args: ServerSettingsArgs): [string, string][] {
    return [
        ["listen_addresses", "*"],
        // -R writes no application_name into primary_conninfo; the walreceiver then falls back to cluster_name.
        ["cluster_name", args.clusterName],
        ["password_encryption", "scram-sha-256"],
        ["wal_level", "replica"],
        ["max_wal_senders", "10"],
        ["max_replication_slots", "10"],
        ["max_slot_wal_keep_size", `${args.maxSlotWalKeepSizeGb}GB`],
        // pg_rewind needs it to turn a failed-over old primary into a replica of the new one.
        ["wal_log_hints", "on"],
        ["hot_standby", "on"],
        ["hot_standby_feedback", "on"],
    ];
}

/** `postgres -c key=value ...`: the container command (the image's entrypoint passes it through). */
export function serverCommand(settings: readonly (readonly [string, string])[]): string[] {
    return ["postgres", ...settings.flatMap(([key, value]) => ["-c", `${key}=${value}`])];
}

/**
 * pg_hba.conf: inside the container the socket maps OS user to role (`docker exec -u postgres`);
 * over TCP, a password (SCRAM) from the LAN or from containers on this machine's Docker
 * networks (`samenet`: the exporter and backup containers). Replication from the LAN only.
 */
export function renderHba(lanCidr: string): string {
    const rows: string[][] = [
        ["# TYPE", "DATABASE", "USER", "ADDRESS", "METHOD"],
        ["local", "all", "all", "", "peer"],
        ["host", "replication", replicationRole, lanCidr, "scram-sha-256"],
        ["host", "all", "all", lanCidr, "scram-sha-256"],
        ["host", "all", "all", "samenet", "scram-sha-256"],
    ];
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd());
    return ["# Rendered by ai-platform (components/postgres/server.ts).", ...lines, ""].join("\n");
}

/** Seconds Docker waits after SIGTERM: a fast shutdown's checkpoint can outlast Docker's default 10 s. */
export const stopTimeoutSeconds = 120;

/** A server is healthy when it accepts connections; a replica may take long to copy the primary first. */
export function serverHealthcheck(startPeriod: string): Healthcheck {
    return { test: ["CMD", "pg_isready", "--host=127.0.0.1", "--port=5432", `--username=${superuser}`, "--dbname=postgres"], startPeriod };
}
