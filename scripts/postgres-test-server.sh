#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests.
#   eval "$(bash scripts/postgres-test-server.sh start)"   # prints: export SEGUR_TEST_PG_DSN=...
#   bash scripts/postgres-test-server.sh stop
#   bash scripts/postgres-test-server.sh restart   # same cluster and data (the reconnection test uses it)
# The cluster lives in .pgtest/ under the worktree (or a /tmp directory if the postgres user cannot
# reach it), listens on a Unix socket only (no TCP port to collide with), trusts local connections,
# and runs without fsync: it is deleted on stop. Run as root, it runs the server as `postgres`
# (PostgreSQL refuses to run as root). Diagnostics go to stderr; stdout is only the export line.
#
# `start --durable` runs it as a production server would keep data: fsync, synchronous commit and
# full-page writes on (the benchmark's PostgreSQL, `make bench`). SEGUR_PG_STATE names another state
# directory, so a durable cluster and the test cluster can run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE="${SEGUR_PG_STATE:-$ROOT/.pgtest}"   # remembers where the cluster is (path in $STATE/location)
DURABILITY="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if [ "${2:-}" = "--durable" ]; then
  DURABILITY="-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c wal_sync_method=fdatasync"
fi

find_bindir() {
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return 0
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  return 1
}

as_owner() {   # run a command as the cluster's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local bindir dir
  if ! bindir=$(find_bindir); then
    echo "postgres-test-server: no PostgreSQL binaries (initdb/pg_ctl) found" >&2
    exit 1
  fi
  stop_quietly
  mkdir -p "$STATE"
  dir="$STATE/cluster"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
    # The server user must be able to reach its data directory; otherwise keep the cluster in /tmp.
    if ! runuser -u postgres -- test -x "$STATE"; then dir=$(mktemp -d /tmp/segur-pgtest.XXXXXX); fi
  fi
  # Unix socket paths are limited to ~107 bytes.
  if [ ${#dir} -gt 80 ]; then dir=$(mktemp -d /tmp/segur-pgtest.XXXXXX); fi
  mkdir -p "$dir/data" "$dir/socket"
  echo "$dir" > "$STATE/location"
  [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
  as_owner "$bindir/initdb" -D "$dir/data" -U segur -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || as_owner "$bindir/initdb" -D "$dir/data" -U segur -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  echo "$DURABILITY" > "$STATE/durability"
  run_server "$bindir" "$dir" start "$DURABILITY"
  echo "export SEGUR_TEST_PG_DSN='host=$dir/socket dbname=postgres user=segur'"
}

run_server() {   # pg_ctl start|restart with the test options
  local bindir=$1 dir=$2 action=$3 durability=$4
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -m fast \
    -o "-c listen_addresses='' -k $dir/socket $durability -c max_connections=100" \
    "$action" >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

restart() {   # the same cluster and data, with the options it was started with
  local bindir dir
  [ -f "$STATE/location" ] || { echo "postgres-test-server: no cluster to restart" >&2; exit 1; }
  bindir=$(find_bindir)
  dir=$(cat "$STATE/location")
  run_server "$bindir" "$dir" restart "$(cat "$STATE/durability" 2>/dev/null || echo "$DURABILITY")"
}

stop_quietly() {
  local dir bindir
  [ -f "$STATE/location" ] || return 0
  dir=$(cat "$STATE/location")
  if bindir=$(find_bindir) && [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" "$STATE"
}

case "${1:-}" in
  start) start ;;
  stop) stop_quietly ;;
  restart) restart ;;
  *) echo "usage: $0 start [--durable]|stop|restart" >&2; exit 2 ;;
esac
