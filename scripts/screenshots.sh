#!/usr/bin/env bash
# Screenshots of the web app's main pages and of the host's controls in the join page, for the
# docs and for review: the browser tests (crates/plenum/tests/api/web_app.rs, host_controls.rs)
# save what they see when PLENUM_SCREENSHOTS is set.
#
#   scripts/screenshots.sh                 # into docs/screenshots/
#   scripts/screenshots.sh /tmp/shots      # anywhere else
#
# Needs what the tests need (scripts/install-test-deps.sh: Debian's chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshots}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
PLENUM_SCREENSHOTS="$out" cargo test -p plenum --test api -- web_app:: host_controls:: >&2
ls "$out"/web-*.png "$out"/host-*.png
