#!/usr/bin/env bash
# Promotes the PostgreSQL streaming replica to a read-write primary (failover).
#
# The replica is the container labelled ai-platform.service=postgres-replica on the given
# Docker daemon; promotion is `SELECT pg_promote()` through its local socket as the postgres
# OS user (peer authentication: no password involved).
set -euo pipefail
# shellcheck source=scripts/lib/service-container.sh
. "$(dirname "$0")/lib/service-container.sh"
# shellcheck source=scripts/lib/confirm.sh
. "$(dirname "$0")/lib/confirm.sh"

usage() {
    cat <<'USAGE'
Usage: scripts/promote-replica.sh [-H DOCKER_HOST] [--yes]

Promotes the PostgreSQL streaming replica to a read-write primary with pg_promote(), for
when the primary is lost. It refuses when the server is not a standby.

  -H, --host DOCKER_HOST  the replica machine's Docker daemon, e.g. ssh://deploy@192.168.10.13
                          (default: $DOCKER_HOST, else the local daemon)
  -y, --yes               do not ask for confirmation
  -h, --help              show this text

Afterwards the old primary must not come back as a primary: keep it stopped, then move the
`database` role to the promoted machine in the stack config (see docs/database.md).
USAGE
}

docker_host="${DOCKER_HOST:-}"
assume_yes=false
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        -y|--yes) assume_yes=true ;;
        -H|--host) [ $# -ge 2 ] || { usage >&2; exit 2; }; docker_host="$2"; shift ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

container=$(service_container postgres-replica)

sql() {
    docker_cli exec -u postgres "$container" \
        psql -X -q -v ON_ERROR_STOP=1 --username=postgres --dbname=postgres --tuples-only --no-align --command="$1"
}

if [ "$(sql 'SELECT pg_is_in_recovery()')" != t ]; then
    echo "error: ${container} is not a standby (already promoted?); nothing to do" >&2
    exit 1
fi

echo "This promotes ${container} on ${docker_host:-the local Docker daemon} to a read-write primary."
echo "It stops following the current primary for good; do it only when the primary is lost."
confirm_typed promote 'Type "promote" to confirm' "nothing changed"

if [ "$(sql 'SELECT pg_promote(true, 60)')" != t ]; then
    echo "error: pg_promote did not finish within 60 seconds; check the container's log" >&2
    exit 1
fi
if [ "$(sql 'SELECT pg_is_in_recovery()')" != f ]; then
    echo "error: ${container} still reports recovery after pg_promote" >&2
    exit 1
fi

# So that the old primary, rebuilt as a replica of this one, finds its slot (max_slot_wal_keep_size caps what it holds).
sql "SELECT pg_create_physical_replication_slot('replica') WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'replica')" > /dev/null

cat <<DONE
${container} is now a read-write primary, with a replication slot 'replica' for the next replica.
Next: keep the old primary stopped, give the promoted machine the \`database\` role (and the old
one \`database-replica\` or nothing) in the stack config, and run \`pulumi up\` so that the apps
follow it. See docs/database.md, "Failover".
DONE
