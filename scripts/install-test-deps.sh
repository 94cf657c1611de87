#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, from Debian's packages:
# - chromium: headless browser for the tests of pages (the API docs page);
# - .venv-test: a Python virtualenv with the independent checkers (icalendar).
# Idempotent: does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing test dependencies: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Python packages, pinned, in a project-local virtualenv (not the system's Python).
venv=".venv-test"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import icalendar, recurring_ical_events' 2>/dev/null; then
  echo "installing the Python test packages into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    icalendar==7.3.0 recurring-ical-events==3.8.2
fi
