#!/usr/bin/env bash
# Builds the server and the benchmark harness in release mode, then runs the harness.
# All arguments go to plenum-bench, e.g.:
#   scripts/bench.sh --scenario user-info --connections 32 --duration 10s
#   scripts/bench.sh --help
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -p plenum -p plenum-bench
exec target/release/plenum-bench "$@"
