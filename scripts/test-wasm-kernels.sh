#!/usr/bin/env bash
# The engine's kernel tests (crates/torchpeek-engine/tests/kernels.rs) as wasm32 with simd128, run
# under Node by wasm-bindgen-test-runner: the build the page ships, so the kernels' SIMD path
# (src/kernels/lanes.rs) is tested too; `cargo test` natively only reaches the scalar path.
# Idempotent; installs nothing beyond scripts/setup.sh (the wasm32 target and wasm-bindgen-cli,
# which ships wasm-bindgen-test-runner). Extra arguments go to the runner (e.g. a test's name).
#
# The release profile, with build-web.sh's flags: the test build's crates are then the web build's
# (same profile, features and flags; see torchpeek-engine's dev-dependencies), so whichever runs
# first compiles tract for wasm and the other reuses it. Cold, this script costs about the test's
# own link (whole-program, a couple of minutes) on top of the web build, where the `ci` profile
# would compile tract for wasm a second time (about 7 minutes here). It also tests the code the
# page ships, optimised the same way. For quick runs while editing the kernels, with the `ci`
# profile's short link: WASM_KERNELS_PROFILE=ci scripts/test-wasm-kernels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# The runner must be the pinned wasm-bindgen's (setup.sh installs wasm-bindgen-cli at that version).
wbv=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen-test-runner --version 2>/dev/null | grep -q " $wbv\$"; then
  echo "test-wasm-kernels: wasm-bindgen-test-runner is not $wbv (scripts/setup.sh installs it)" >&2
  exit 1
fi

profile="${WASM_KERNELS_PROFILE:-release}"
# Only the wasm32 target gets simd128 (build scripts and proc macros stay native), as in
# scripts/build-web.sh. wasm-bindgen-test runs the tests in Node (its default; no browser).
echo "test-wasm-kernels: cargo test (wasm32 + simd128, $profile, Node): torchpeek-engine --test kernels" >&2
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
  cargo test --profile "$profile" --target wasm32-unknown-unknown -p torchpeek-engine --test kernels -- "$@"
