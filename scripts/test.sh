#!/usr/bin/env bash
# The project's test command: installs the test dependencies, then runs every test of the
# workspace (unit, store contract, HTTP integration, media over loopback UDP, binary, browser),
# then the HTTP integration tests (`crates/plenum/tests/api`) a second time on PostgreSQL.
#
# The tests run in a network namespace that has only `lo` where the machine allows one
# (`unshare -n`, as root): servers, media bots and Chromium then cannot reach anything but
# loopback, whatever they are told. The build runs outside it first (it may fetch crates).
# Elsewhere everything binds 127.0.0.1 anyway. PLENUM_TEST_NETNS=0 turns the namespace off.
#
# A throwaway PostgreSQL cluster (scripts/pg-test-server.sh) runs for the length of the tests,
# for the PostgreSQL store's tests and the second pass: it listens on a Unix socket only,
# which the tests reach from inside the namespace through the file system.
# PLENUM_TEST_DATABASE_URL names it; with it set, those tests fail rather than skip when the
# server cannot be reached.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --workspace --all-features --locked --no-run "$@"

pg_dir=$(scripts/pg-test-server.sh start)
trap 'scripts/pg-test-server.sh stop "$pg_dir"' EXIT
trap 'exit 130' INT TERM
PLENUM_TEST_DATABASE_URL=$(scripts/pg-test-server.sh url "$pg_dir")
export PLENUM_TEST_DATABASE_URL

if [ "${PLENUM_TEST_NETNS:-1}" != 0 ] && command -v ip >/dev/null 2>&1 \
  && unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
  echo "running the tests in a network namespace with only loopback" >&2
  # Nothing can be fetched in there: cargo works offline (the build above fetched).
  run() { CARGO_NET_OFFLINE=true unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"; }
else
  run() { "$@"; }
fi
run cargo test --workspace --all-features --locked "$@"
# The HTTP and live tests once more on PostgreSQL: every test server on a database of its own
# (plenum-testkit, PLENUM_TEST_BACKEND). `--workspace` keeps the feature set of the run above,
# so the test binary is reused instead of rebuilt (`-p plenum` unified other features).
run env PLENUM_TEST_BACKEND=postgres cargo test --workspace --test api --all-features --locked "$@"
