#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: Debian's `postgresql` package (installed by
# scripts/install-test-deps.sh), initialised in a new temporary directory, listening only on a
# Unix socket in that directory (no TCP port at all), trust authentication for the user
# `plenum`, fsync off (nothing in it needs to survive a crash of the machine).
#
#   dir=$(scripts/pg-test-server.sh start)    # prints the cluster's directory
#   scripts/pg-test-server.sh url "$dir"      # postgres://plenum@/postgres?host=<dir>/socket
#   scripts/pg-test-server.sh stop "$dir"     # stops the server and removes the directory
#
# PLENUM_PG_OPTIONS adds server settings after these (a later `-c` wins): the benchmarks
# (plenum-bench --backend postgres) start a durable cluster with
# `-c fsync=on -c synchronous_commit=on -c full_page_writes=on` and larger buffers.
#
# Why a Unix socket: scripts/test.sh runs the tests in a network namespace of their own
# (`unshare -n`) that has only a fresh `lo`. A server started outside it on 127.0.0.1 would be
# unreachable from inside; a socket file is reached through the file system from any network
# namespace, and there is no port to choose or to collide with another run's.
#
# PostgreSQL refuses to run as root: as root (CI), the server runs as the `postgres` user the
# package creates, and the directory is handed to it; otherwise it runs as the caller.
set -euo pipefail

usage() {
  echo "usage: $0 start | url DIR | stop DIR" >&2
  exit 2
}

# The newest installed server's programs (Debian keeps them out of PATH).
bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    echo "PostgreSQL's server is not installed (Debian package postgresql; scripts/install-test-deps.sh installs it)" >&2
    exit 1
  fi
  echo "$dir"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url_of() {
  echo "postgres://plenum@localhost/postgres?host=$1/socket"
}

case "${1:-}" in
  start)
    bin=$(bindir)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/plenum-pg.XXXXXX")
    mkdir "$dir/socket"
    if [ "$(id -u)" -eq 0 ]; then
      chown -R postgres: "$dir"
    fi
    # The socket directory must be reachable by whoever runs the tests.
    chmod 755 "$dir" "$dir/socket"
    as_owner "$bin/initdb" --pgdata="$dir/data" --username=plenum --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      rm -rf "$dir"
      exit 1
    }
    # listen_addresses='' : the Unix socket only. Many tests run at once, each with a pool.
    as_owner "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
      --options="-c listen_addresses='' -c unix_socket_directories='$dir/socket' \
                 -c max_connections=300 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c shared_buffers=64MB ${PLENUM_PG_OPTIONS:-}" \
      start >/dev/null || {
      cat "$dir/server.log" >&2
      rm -rf "$dir"
      exit 1
    }
    echo "$dir"
    ;;
  url)
    [ -n "${2:-}" ] || usage
    url_of "$2"
    ;;
  stop)
    [ -n "${2:-}" ] || usage
    dir=$2
    [ -d "$dir/data" ] || { echo "no cluster in $dir" >&2; exit 1; }
    bin=$(bindir)
    as_owner "$bin/pg_ctl" --pgdata="$dir/data" --mode=immediate --wait stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *)
    usage
    ;;
esac
