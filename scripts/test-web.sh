#!/usr/bin/env bash
# The web face's tests: builds dist/ and the npm package's wasm, then runs the browser end-to-end
# tests (headless Debian chromium via playwright-core) and the npm package tests with node --test.
# Installs what it needs first (scripts/setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
bash scripts/build-web.sh
node --test --test-concurrency=1 tests/e2e/*.test.mjs
