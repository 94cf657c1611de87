#!/usr/bin/env bash
# Builds the server and the benchmark harness in release mode, then runs the harness.
# All arguments go to plenum-bench, e.g.:
#   scripts/bench.sh --scenario user-info --connections 32 --duration 10s
#   scripts/bench.sh --scenario live-join-storm     (live meetings: see BENCHMARKS.md)
#   scripts/bench.sh --help
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -p plenum -p plenum-bench
# Honour CARGO_TARGET_DIR; --server overrides the server binary chosen here.
target_dir="${CARGO_TARGET_DIR:-target}"
export PLENUM_BENCH_SERVER="${PLENUM_BENCH_SERVER:-$target_dir/release/plenum}"
exec "$target_dir/release/plenum-bench" "$@"
