#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the service benchmark (--postgres), on 127.0.0.1:$PORT.
#   bash tests/RegService.Benchmarks/pg_cluster.sh start [PORT]   # prints the connection string
#   bash tests/RegService.Benchmarks/pg_cluster.sh stop
# Runs initdb and pg_ctl as the postgres user when started as root (they refuse root).
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=/tmp/regservice-bench-pg
port=${2:-55432}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-}" in
  start)
    rm -rf "$dir"; mkdir -p "$dir/sock"
    [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust > /dev/null
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=300 -c synchronous_commit=${SYNC_COMMIT:-on} ${PG_EXTRA:-}" start > /dev/null
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres regservice
    echo "Host=127.0.0.1;Port=$port;Database=regservice;Username=postgres"
    ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop > /dev/null || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start [PORT] | stop" >&2; exit 2 ;;
esac
