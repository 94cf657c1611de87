#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, from Debian's packages:
# - chromium: headless browser for the tests of pages (the API docs page);
# - libopus-dev, pkg-config: libopus, which the recorder's audio mixer links (a build
#   dependency, so .ci/run calls this script before clippy);
# - ffmpeg: the recording tests decode every file with it; the RTMP push runs it;
# - dpkg-dev and cargo-deb (pinned, from crates.io): the packaging test builds the .deb
#   (`cargo deb -p plenum`) and dpkg-shlibdeps computes its library dependencies;
# - .venv-test: a Python virtualenv with the independent checkers (icalendar;
#   openapi-spec-validator, which validates /api/openapi.json) and the vendors' own SDKs that
#   the history surfaces are tested with (telnyx, huaweicloudsdkmeeting, rocketchat-api), and
#   moto's S3 server (`moto_server`), the S3-compatible store the recording-storage tests
#   upload to on loopback; prometheus-client, whose parser reads `/metrics` in the metrics
#   tests; standardwebhooks, the Standard Webhooks library the webhook tests verify
#   deliveries with.
# - scripts/axe/node_modules: axe-core, pinned by scripts/axe/package-lock.json (npm ci), which
#   the web app's browser tests inject into the pages to check accessibility (never served).
# - postgresql: the server of the PostgreSQL store's tests; scripts/pg-test-server.sh starts a
#   throwaway cluster of it for each test run (the package's own cluster is not used).
# Idempotent: does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists opus 2>/dev/null || need+=(libopus-dev)
command -v dpkg-shlibdeps >/dev/null 2>&1 || need+=(dpkg-dev)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing test dependencies: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# cargo-deb, pinned: a newer one is an explicit upgrade (run the packaging test, then change
# the pin). About a minute to build on two cores; then kept in ~/.cargo/bin.
cargo_deb_version=3.8.0
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $cargo_deb_version" ]; then
  echo "installing cargo-deb $cargo_deb_version" >&2
  cargo install cargo-deb --locked --version "$cargo_deb_version" --quiet
fi

# Python packages, pinned, in a project-local virtualenv (not the system's Python).
venv=".venv-test"
# The SDK pins are the versions the compatibility tests were written against; a newer SDK is
# an explicit upgrade (run the tests, then change the pin).
packages=(
  icalendar==7.3.0 recurring-ical-events==3.8.2 openapi-spec-validator==0.9.0
  telnyx==4.189.0 huaweicloudsdkcore==3.1.219 huaweicloudsdkmeeting==3.1.219 rocketchat-api==3.7.1
  "moto[server]==5.2.5"
  prometheus-client==0.26.0
  standardwebhooks==1.1.0
)
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c '
import icalendar, recurring_ical_events, telnyx, huaweicloudsdkmeeting, rocketchat_API
import openapi_spec_validator, openapi_schema_validator
from importlib.metadata import version
assert version("telnyx") == "4.189.0" and version("huaweicloudsdkmeeting") == "3.1.219"
assert version("openapi-spec-validator") == "0.9.0"
assert version("rocketchat-api") == "3.7.1" and version("moto") == "5.2.5"
import moto.server, flask
import prometheus_client.parser
import standardwebhooks
' 2>/dev/null; then
  echo "installing the Python test packages into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
fi
command -v openssl >/dev/null 2>&1 || {
  # The Huawei SDK test puts a TLS proxy with a throwaway certificate in front of the server.
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends openssl >/dev/null
}

# axe-core for the browser tests' accessibility check, exactly as the lockfile pins it.
axe_version=$(sed -n 's/.*"axe-core": "\(.*\)".*/\1/p' scripts/axe/package.json)
if [ "$(node -p 'require("./scripts/axe/node_modules/axe-core/package.json").version' 2>/dev/null)" != "$axe_version" ]; then
  command -v npm >/dev/null 2>&1 || {
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null
  }
  echo "installing axe-core $axe_version" >&2
  npm ci --prefix scripts/axe --ignore-scripts --no-audit --no-fund --silent
fi
