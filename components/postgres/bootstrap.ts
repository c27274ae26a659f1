/** Where the replica's wrapper entrypoint is uploaded in its container. */
export const replicaEntrypointPath = "/usr/local/bin/ai-platform-replica-entrypoint.sh";

/**
 * The streaming replica's entrypoint. On an empty data directory it clones the primary with
 * `pg_basebackup -R -X stream -S <slot>` (standby.signal, primary_conninfo and the slot name
 * land in the data directory), retrying while the primary is not up yet. When the primary answers
 * that the slot does not exist (it was deployed before any replica and has not restarted since, as
 * with `up:machine` of the replica's machine alone), the next attempt adds `--create-slot`. A clone cut short (the
 * container stopped or killed mid-copy: pg_basebackup only cleans up after its own errors) is
 * removed and started again: the copy begins with backup_label, which stays until the standby
 * first starts, and -R writes standby.signal only at the end. Then it execs its
 * arguments (the image's `docker-entrypoint.sh postgres ...`, which finds a data directory and
 * starts the standby). Everything comes from the environment, so the same script runs in tests.
 * The replication password goes into a 0600 passfile (PGPASSFILE) that libpq reads, never argv.
 */
export function renderReplicaEntrypoint(): string {
    return `#!/usr/bin/env bash
# Rendered by ai-platform (components/postgres/bootstrap.ts).
set -Eeuo pipefail

: "\${PGDATA:?}" "\${PGPASSFILE:?}" "\${PRIMARY_HOST:?}" "\${PRIMARY_PORT:?}"
: "\${REPLICATION_USER:?}" "\${REPLICATION_SLOT:?}" "\${REPLICATION_PASSWORD_FILE:?}"

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA"
	chown postgres:postgres "$PGDATA"
	chmod 700 "$PGDATA"
	# Through bash: Docker uploads this file root-owned 0744, which postgres may read but not execute.
	exec gosu postgres bash "$0" "$@"
fi

password="$(< "$REPLICATION_PASSWORD_FILE")"
if [ -z "$password" ]; then
	printf 'replica: %s is empty\\n' "$REPLICATION_PASSWORD_FILE" >&2
	exit 1
fi
password="\${password//\\\\/\\\\\\\\}"
password="\${password//:/\\\\:}"
rm -f "$PGPASSFILE"
(umask 077 && printf '*:*:*:%s:%s\\n' "$REPLICATION_USER" "$password" > "$PGPASSFILE")
unset password

if [ ! -f "$PGDATA/standby.signal" ] && { [ -f "$PGDATA/backup_label" ] || [ ! -s "$PGDATA/PG_VERSION" ]; }; then
	if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then
		printf 'replica: removing the unfinished base backup in %s\\n' "$PGDATA"
		find "$PGDATA" -mindepth 1 -delete
	fi
	attempt=1
	create_slot=""
	errors="$(mktemp)"
	until pg_basebackup --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username="$REPLICATION_USER" --no-password \\
		--pgdata="$PGDATA" --write-recovery-conf --wal-method=stream --slot="$REPLICATION_SLOT" \${create_slot:+"$create_slot"} \\
		--checkpoint=fast 2> "$errors"; do
		cat "$errors" >&2
		# A primary deployed before this replica has no slot until its next start: create it from here.
		if grep -q "replication slot \\"$REPLICATION_SLOT\\" does not exist" "$errors"; then
			printf 'replica: the primary has no slot %s yet: creating it with the base backup\\n' "$REPLICATION_SLOT"
			create_slot=--create-slot
		elif grep -q "replication slot \\"$REPLICATION_SLOT\\" already exists" "$errors"; then
			create_slot=""
		fi
		if [ "$attempt" -ge "\${BOOTSTRAP_ATTEMPTS:-60}" ]; then
			printf 'replica: no base backup from %s:%s after %s attempts\\n' "$PRIMARY_HOST" "$PRIMARY_PORT" "$attempt" >&2
			exit 1
		fi
		attempt=$((attempt + 1))
		sleep "\${BOOTSTRAP_RETRY_SECONDS:-10}"
	done
	cat "$errors" >&2
	rm -f "$errors"
	printf 'replica: cloned %s:%s, starting as a hot standby\\n' "$PRIMARY_HOST" "$PRIMARY_PORT"
fi

exec "$@"
`;
}

/** Where the primary's wrapper entrypoint is uploaded in its container. */
export const primaryEntrypointPath = "/usr/local/bin/ai-platform-primary-entrypoint.sh";

/**
 * The primary's entrypoint. The image runs /docker-entrypoint-initdb.d only on an empty data
 * directory, so on every later start this wrapper does the same for the platform's reconcile script
 * (`$AI_PLATFORM_INIT_SCRIPT`, the init script): it starts a socket-only server on the existing data
 * directory (as the image does for its init scripts), sources the script (roles, passwords from
 * their files, the replica's slot, the databases, pg_hba.conf), stops that server and execs its
 * arguments (the image's `docker-entrypoint.sh postgres ...`), which starts the real server with the
 * new pg_hba.conf. On an empty data directory it hands over at once: the image initialises it and
 * sources the same script. A failed reconcile stops the start (the log says why) rather than serve
 * with stale passwords.
 */
export function renderPrimaryEntrypoint(): string {
    return `#!/usr/bin/env bash
# Rendered by ai-platform (components/postgres/bootstrap.ts).
set -Eeuo pipefail

: "\${PGDATA:?}" "\${POSTGRES_USER:?}" "\${AI_PLATFORM_INIT_SCRIPT:?}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
	# Through bash: Docker uploads this file root-owned, readable but maybe not executable by postgres.
	# In the background, so that this shell (PID 1, which ignores an untrapped SIGTERM) passes
	# \`docker stop\` on and the temporary server shuts down cleanly.
	gosu postgres bash "$0" --reconcile-only &
	reconcile=$!
	stopped=false
	trap 'stopped=true; kill -TERM "$reconcile" 2>/dev/null || true' TERM INT
	status=0
	wait "$reconcile" || status=$?
	while kill -0 "$reconcile" 2>/dev/null; do
		status=0
		wait "$reconcile" || status=$?
	done
	trap - TERM INT
	if [ "$stopped" = true ]; then
		exit 143
	fi
	if [ "$status" -ne 0 ]; then
		exit "$status"
	fi
	exec "$@"
fi

socket_dir="\${PGHOST:-/var/run/postgresql}"
port="\${PGPORT:-5432}"
printf 'primary: reconciling roles, passwords, slot and pg_hba.conf on the existing data directory\\n'
pg_ctl -D "$PGDATA" -w -t "\${RECONCILE_START_TIMEOUT:-3600}" \\
	-o "-c listen_addresses='' -c unix_socket_directories='$socket_dir' -p $port" start
stop_server() { pg_ctl -D "$PGDATA" -m fast -w stop; }
trap stop_server EXIT
# docker stop: bash runs this once the current step ends, then the EXIT trap stops the server.
trap 'exit 143' TERM INT
export PGHOST="$socket_dir" PGPORT="$port"
# shellcheck source=/dev/null
. "$AI_PLATFORM_INIT_SCRIPT"
trap - EXIT TERM INT
stop_server
printf 'primary: reconciled\\n'

if [ "\${1:-}" = --reconcile-only ]; then
	exit 0
fi
exec "$@"
`;
}
