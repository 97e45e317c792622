#!/usr/bin/env bash
# Runs every test: the Rust library and CLI (unit, integration over every fixture manifest).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release 2>&1
