#!/usr/bin/env bash
# Installs what the web build needs, and with --test what the browser tests need. Idempotent:
# each step is skipped when its tool is already there.
#   the wasm32 target; wasm-bindgen-cli at the version Cargo.lock pins; npm packages;
#   with --test: Debian's chromium (for Playwright, which never downloads a browser here), and the
#   pickle scanners tests/safety.rs compares against (picklescan, fickling, modelscan from PyPI).
# wasm-opt is optional and not installed: build-web.sh uses it when binaryen >= 116 is on the PATH
# (Debian 12's binaryen 108 breaks wasm-bindgen's reference-type tables).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target" >&2
  rustup target add wasm32-unknown-unknown
fi

wbv=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$wbv" ]; then
  echo "setup: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbv\$"; then
  echo "setup: installing wasm-bindgen-cli $wbv (a few minutes, once)" >&2
  cargo install wasm-bindgen-cli --version "$wbv"
fi

apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if [ "$want_test" = 1 ]; then
  pkgs=()
  command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
  if [ "${#pkgs[@]}" -gt 0 ]; then
    echo "setup: apt-get install ${pkgs[*]}" >&2
    apt_install "${pkgs[@]}"
  fi
  # Public pickle scanners the safety test compares against (tests/safety.rs).
  scanners=(picklescan==1.0.5 fickling==0.1.12 modelscan==0.8.8)
  if ! python3 -m pip show -q picklescan fickling modelscan >/dev/null 2>&1; then
    echo "setup: pip install ${scanners[*]}" >&2
    python3 -m pip install -q --disable-pip-version-check "${scanners[@]}"
  fi
fi

if [ ! -d node_modules/playwright-core ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
