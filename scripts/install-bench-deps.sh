#!/usr/bin/env bash
# Installs what the media benchmarks (scripts/bench-media.sh) need beyond the Rust toolchain,
# from Debian's packages: janus (the Janus WebRTC server, 1.1.x in Debian 12), the anchor the
# SFU is compared with; util-linux's taskset pins the server to one CPU.
# Idempotent: does nothing when everything is present.
set -euo pipefail

need=()
command -v janus >/dev/null 2>&1 || need+=(janus)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing benchmark dependencies: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
janus --version 2>/dev/null | head -1 || true
