#!/usr/bin/env bash
# Runs every test: the Rust library and CLI (unit, integration over every fixture manifest),
# then the web face (scripts/test-web.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# What the tests need (wasm target, wasm-bindgen-cli, npm packages, chromium, pickle scanners).
bash scripts/setup.sh --test
# The workspace's default members: the core, the engine and the command line (unit, integration over
# every fixture manifest, every ONNX fixture run natively and through `torchpeek run`). The `ci`
# profile is release without link-time optimisation (Cargo.toml).
cargo test --profile ci 2>&1
# The web face: wasm build, the page in headless chromium, the npm package (installs what it needs).
bash scripts/test-web.sh 2>&1
