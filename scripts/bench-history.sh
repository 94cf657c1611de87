#!/usr/bin/env bash
# Runs every history-surface scenario of plenum-bench against one prepared data directory and
# prints one Markdown table (BENCHMARKS.md, "History surfaces").
#
#   target/release/plenum --data-dir DIR dev generate-history --admin-password P   # once
#   scripts/bench-history.sh DIR P [plenum-bench flags, e.g. --duration 10s]
#
# PostgreSQL side by side with SQLite: load the same data set into a database once, with the
# same data directory and password, and pass the backend (one row per store and scenario):
#
#   target/release/plenum --data-dir DIR --database-url URL dev generate-history --admin-password P
#   scripts/bench-history.sh DIR P --backend both --database-url URL
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:?usage: scripts/bench-history.sh DATA_DIR ADMIN_PASSWORD [plenum-bench flags]}
password=${2:?usage: scripts/bench-history.sh DATA_DIR ADMIN_PASSWORD [plenum-bench flags]}
shift 2
target=${CARGO_TARGET_DIR:-target}
cargo build --release -p plenum -p plenum-bench >&2
# Apply any pending migration before the first timed start (an offline command does it).
"$target/release/plenum" --data-dir "$dir" key list >/dev/null
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = "--database-url" ]; then
    j=$((i + 1))
    PLENUM_DATABASE_URL=${!j} "$target/release/plenum" --data-dir "$dir" key list >/dev/null
  fi
done
scenarios=(
  rokid-history rokid-history-deep rokid-history-name rokid-history-window rokid-history-broad
  rokid-participants rocketchat-list rocketchat-list-deep
  telnyx-list telnyx-list-deep telnyx-date-started telnyx-date-ended telnyx-room
  telnyx-participant telnyx-session telnyx-status telnyx-type telnyx-duration telnyx-broad
  huawei-records huawei-search
)
echo "| scenario | store | requests/s | p50 ms | p99 ms | % of baseline | baseline requests/s | errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for s in "${scenarios[@]}"; do
  "$target/release/plenum-bench" --server "$target/release/plenum" --scenario "$s" \
      --data-dir "$dir" --admin-password "$password" --json "$@" 2>/dev/null \
    | python3 -c '
import json, sys
d = json.load(sys.stdin)
# One run, or one per store (--backend both); each share is of the baseline of its own server.
for r in d.get("runs", [d]):
    b, t, name, errors = r["baseline"], r["target"], r["scenario"], r["errors_total"]
    share = 100 * t["requests_per_s"] / b["requests_per_s"]
    print("| %s | %s | %.0f | %.2f | %.2f | %.1f | %.0f | %d |" % (
        name, r["settings"]["backend"], t["requests_per_s"], t["p50_ms"], t["p99_ms"], share,
        b["requests_per_s"], errors))
' || echo "| $s | failed | | | | | | |"
done
