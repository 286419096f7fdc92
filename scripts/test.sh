#!/usr/bin/env bash
# The whole test suite, as CI runs it: interop tools, formatting, lints, every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Third-party tools the interop tests drive. Installed when missing and we are root.
declare -A tool_pkg=([mtx]=mtx [tapeinfo]=mtx [sg_inq]=sg3-utils [sg_raw]=sg3-utils [ffmpeg]=ffmpeg [ffprobe]=ffmpeg)
missing=()
for tool in "${!tool_pkg[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${tool_pkg[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" = 0 ]; then
    echo "installing interop tools: $pkgs"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $pkgs
  else
    echo "missing interop tools ($pkgs) and not root: interop tests will fail" >&2
  fi
fi

# schemathesis (PyPI) checks the REST facade against its OpenAPI document.
if ! command -v schemathesis >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing schemathesis"
    python3 -m pip install -q schemathesis
  else
    echo "schemathesis missing and not root: the REST schema test will fail" >&2
  fi
fi

export TAPELIB_REQUIRE_INTEROP=1
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
