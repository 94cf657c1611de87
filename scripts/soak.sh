#!/usr/bin/env bash
# The concurrency soak (issue 17; docs/consistency.md): the stress suite of
# crates/plenum/tests/api/stress.rs run longer, over several seeds, on loopback only.
#
#   scripts/soak.sh [SEEDS] [OPS_PER_CLIENT] [SECONDS_PER_RUN] [FIRST_SEED]
#
# Defaults: 10 seeds from 1, 2000 operations per client, at most 300 s per run. Each run is bounded
# in count and time; the script stops at the first failing seed and prints it, so that
# `PLENUM_STRESS_SEED=<seed> cargo test -p plenum --test api stress` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-10}
ops=${2:-2000}
secs=${3:-300}
first=${4:-1}
cargo build -q -p plenum --tests
started=$(date +%s)
for seed in $(seq "$first" $((first + seeds - 1))); do
  echo "== seed $seed: $ops operations per client, at most ${secs}s"
  PLENUM_STRESS_SEED=$seed PLENUM_STRESS_OPS=$ops PLENUM_STRESS_SECS=$secs \
    cargo test -q -p plenum --test api stress -- --nocapture 2>&1 |
    grep -E -A2 "^stress seed|panicked|test result" || {
      echo "seed $seed FAILED"
      exit 1
    }
done
echo "soak: $seeds seeds passed in $(($(date +%s) - started)) s on $(nproc) CPUs ($(uname -m))"
