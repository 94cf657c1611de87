#!/usr/bin/env bash
# The recording and live-streaming benchmarks (issue "Recording", speed), Plenum only, over
# 127.0.0.1 only, with the media bench's bots (plenum-client's MediaSession):
#   record: M meetings of 4 bots publishing audio + video, all recorded at once; M steps
#           through $RECORD_M until the server needs more than 70 % of one core or a frame is
#           lost (recorder counters, ffprobe of every file, the bots' sent counts);
#   live:   one meeting of 2 bots streamed live to N WHEP viewers; N steps through $LIVE_N
#           until the viewers lose 1 % or more.
# Builds release first. With 2 CPUs or more the server is pinned to CPU 0 and the bots (and
# viewers) to CPU 1. Needs ffprobe (ffmpeg). Prints each shape's Markdown table and a summary;
# extra arguments go to both plenum-bench calls (e.g. --json); the window is $WINDOW.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RECORD_M="${RECORD_M:-1,2,4,8,12,16,24,32}"
LIVE_N="${LIVE_N:-25,50,100,200,400,600,800}"
# The measured window (recording runs 2 s longer, plus the start and stop requests).
WINDOW="${WINDOW:-15s}"
command -v ffprobe >/dev/null 2>&1 || { echo "ffprobe (ffmpeg) is needed" >&2; exit 1; }
command -v taskset >/dev/null 2>&1 || { echo "taskset (util-linux) is needed" >&2; exit 1; }
cargo build --release -p plenum -p plenum-bench
target_dir="${CARGO_TARGET_DIR:-target}"
bench="$target_dir/release/plenum-bench"
pin=()
bots=()
if [ "$(nproc)" -ge 2 ]; then
  pin=(--pin-server 0)
  bots=(taskset -c 1)
fi
out="$(mktemp -d "${TMPDIR:-/tmp}/plenum-bench-record.XXXXXX")"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); output in $out"
status=0
"${bots[@]}" "$bench" media --shape record --meetings "$RECORD_M" --sfu plenum --window "$WINDOW" \
  --server "$target_dir/release/plenum" "${pin[@]}" --log-dir "$out/logs" "$@" \
  | tee "$out/record.md" || status=1
"${bots[@]}" "$bench" media --shape live --n "$LIVE_N" --sfu plenum --window "$WINDOW" \
  --server "$target_dir/release/plenum" "${pin[@]}" --log-dir "$out/logs" "$@" \
  | tee "$out/live.md" || status=1
echo
echo "## summary"
grep -h -e '^- most meetings recorded' -e '^- most WHEP viewers' "$out/record.md" "$out/live.md" || true
exit "$status"
