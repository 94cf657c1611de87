#!/usr/bin/env bash
# The project's test command: installs the test dependencies, then runs every test of the
# workspace (unit, store contract, HTTP integration, binary, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --workspace --all-features --locked "$@"
