#!/usr/bin/env bash
# The media benchmarks: Plenum's SFU and Janus VideoRoom side by side in one run, driven by
# the same bots (plenum-client's MediaSession, the same fixtures), over 127.0.0.1 only.
# Builds release, installs janus if missing, then runs both shapes:
#   lecture: 1 publisher of audio + video to N subscribers (N = $LECTURE_N)
#   meeting: N × N (N = $MEETING_N)
# With 2 CPUs or more the server (Plenum or Janus) is pinned to CPU 0 and the bots to CPU 1.
# Each shape prints a Markdown table (BENCHMARKS.md, "Media"); JSON lines with --json.
# Extra arguments go to every plenum-bench media call, e.g. --window 20s --late-joins 20.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LECTURE_N="${LECTURE_N:-25,50,100,200}"
MEETING_N="${MEETING_N:-3,5,8}"
scripts/install-bench-deps.sh
cargo build --release -p plenum -p plenum-bench
target_dir="${CARGO_TARGET_DIR:-target}"
bench="$target_dir/release/plenum-bench"
pin=()
bots=()
if [ "$(nproc)" -ge 2 ]; then
  pin=(--pin-server 0)
  bots=(taskset -c 1)
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
for shape in lecture meeting; do
  if [ "$shape" = lecture ]; then n="$LECTURE_N"; else n="$MEETING_N"; fi
  "${bots[@]}" "$bench" media --shape "$shape" --n "$n" --sfu plenum,janus \
    --server "$target_dir/release/plenum" "${pin[@]}" "$@"
done
