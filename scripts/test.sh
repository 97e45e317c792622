#!/usr/bin/env bash
# Runs every test: the Rust library and CLI (unit, integration over every fixture manifest), the
# engine's kernels as wasm with SIMD (scripts/test-wasm-kernels.sh), then the web face
# (scripts/test-web.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# What the tests need (wasm target, wasm-bindgen-cli, npm packages, chromium, pickle scanners).
bash scripts/setup.sh --test
# vendor/ holds crates.io releases plus one patch each, and nothing else (vendor/README.md).
bash scripts/check-vendor.sh
# The workspace's default members: the core, the engine and the command line (unit, integration over
# every fixture manifest, every ONNX fixture run natively and through `torchpeek run`). The `ci`
# profile is release without link-time optimisation (Cargo.toml).
cargo test --profile ci 2>&1
# The engine's kernel tests again as wasm32 with simd128 under Node, the page's build: natively only
# the kernels' scalar path runs. Release profile, sharing its compiled tract with the web build below.
bash scripts/test-wasm-kernels.sh 2>&1
# The web face: wasm build, the page in headless chromium, the npm package (installs what it needs).
bash scripts/test-web.sh 2>&1
