#!/usr/bin/env bash
# Restores one application database from a backup on the NAS.
#
# Runs pg_restore inside the backup container (labelled ai-platform.service=postgres-backup):
# it mounts the backups export and already holds the server address, the user and the
# password file in its environment, so no secret passes through this script.
set -euo pipefail
# shellcheck source=scripts/lib/service-container.sh
. "$(dirname "$0")/lib/service-container.sh"
# shellcheck source=scripts/lib/confirm.sh
. "$(dirname "$0")/lib/confirm.sh"

usage() {
    cat <<'USAGE'
Usage: scripts/restore-db.sh [-H DOCKER_HOST] [--yes] DATABASE [BACKUP]
       scripts/restore-db.sh [-H DOCKER_HOST] --list DATABASE

Replaces the contents of DATABASE (litellm, openwebui or grafana) on the primary with a
backup taken by the postgres-backup container (pg_dump custom format).

  DATABASE                litellm | openwebui | grafana
  BACKUP                  a file under the backups export, relative to it
                          (default: last/DATABASE-latest.dump, the newest backup)
  -H, --host DOCKER_HOST  the database machine's Docker daemon, e.g. ssh://deploy@192.168.10.11
                          (default: $DOCKER_HOST, else the local daemon)
  -l, --list              list the backups of DATABASE and exit
  -y, --yes               do not ask for confirmation
  -h, --help              show this text

Stop the application that uses DATABASE first (its open connections block the restore).
USAGE
}

docker_host="${DOCKER_HOST:-}"
assume_yes=false
list=false
positional=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        -y|--yes) assume_yes=true ;;
        -l|--list) list=true ;;
        -H|--host) [ $# -ge 2 ] || { usage >&2; exit 2; }; docker_host="$2"; shift ;;
        -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
        *) positional+=("$1") ;;
    esac
    shift
done
if [ "${#positional[@]}" -lt 1 ] || [ "${#positional[@]}" -gt 2 ]; then
    usage >&2
    exit 2
fi
database="${positional[0]}"
backup="${positional[1]:-last/${database}-latest.dump}"
case "$database" in
    litellm|openwebui|grafana) ;;
    *) echo "error: unknown database '$database' (litellm, openwebui or grafana)" >&2; exit 2 ;;
esac
case "$backup" in
    /*|*..*) echo "error: BACKUP must be a path relative to the backups export, such as daily/${database}-20260101.dump" >&2; exit 2 ;;
esac

container=$(service_container postgres-backup)

if [ "$list" = true ]; then
    # shellcheck disable=SC2016 # expanded by the container's shell
    docker_cli exec "$container" sh -c 'cd "$BACKUP_DIR" && ls -l -- */"$1"-*' list "$database"
    exit 0
fi

# shellcheck disable=SC2016 # expanded by the container's shell
docker_cli exec "$container" sh -c 'test -f "$BACKUP_DIR/$1"' check "$backup" || {
    echo "error: no backup '$backup' in ${container}'s backups (try --list)" >&2
    exit 1
}

echo "This replaces every object in database '${database}' with the backup '${backup}',"
echo "through ${container} on ${docker_host:-the local Docker daemon}."
confirm_typed "$database" "Type the database name to confirm" "nothing changed"

# One transaction: a failed restore leaves the database as it was.
# shellcheck disable=SC2016 # expanded by the container's shell
docker_cli exec "$container" sh -c '
    PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")" && export PGPASSWORD &&
    exec pg_restore --host="$POSTGRES_HOST" --port="$POSTGRES_PORT" --username="$POSTGRES_USER" --no-password \
        --dbname="$1" --clean --if-exists --single-transaction --exit-on-error "$BACKUP_DIR/$2"
' restore "$database" "$backup"

echo "Restored '${database}' from '${backup}'. Start its application again."
