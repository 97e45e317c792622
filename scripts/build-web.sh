#!/usr/bin/env bash
# Builds the complete static site into dist/ (copy it to any static host) and the npm package's
# wasm into npm/pkg/. Runs scripts/setup.sh first (a no-op when everything is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

target_dir="${CARGO_TARGET_DIR:-target}"
echo "build-web: cargo build (wasm32, release)" >&2
# 128-bit SIMD (every current browser and Node has it): the statistics loop runs about 2x faster.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
  cargo build --release --lib --target wasm32-unknown-unknown --no-default-features
wasm="$target_dir/wasm32-unknown-unknown/release/torchpeek.wasm"

pkg="$target_dir/web-pkg"
rm -rf "$pkg"
wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name torchpeek "$wasm"

# wasm-opt is optional, and only binaryen 116 or later handles the reference types rustc's wasm32 target
# and wasm-bindgen use (Debian 12's 108 writes a module that fails at instantiation).
wasm_opt_version=$(wasm-opt --version 2>/dev/null | grep -oE '[0-9]+' | head -n 1 || true)
if [ -n "$wasm_opt_version" ] && [ "$wasm_opt_version" -ge 116 ] && [ "${TORCHPEEK_NO_WASM_OPT:-}" != 1 ]; then
  if wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd \
      "$pkg/torchpeek_bg.wasm" -o "$pkg/torchpeek_bg.opt.wasm" 2>"$pkg/wasm-opt.log"; then
    mv "$pkg/torchpeek_bg.opt.wasm" "$pkg/torchpeek_bg.wasm"
  else
    echo "build-web: wasm-opt failed (see $pkg/wasm-opt.log); keeping the unoptimized wasm" >&2
  fi
  rm -f "$pkg/wasm-opt.log"
fi

rm -rf dist
mkdir -p dist/pkg
cp www/*.html www/*.js www/*.css www/*.webmanifest dist/ 2>/dev/null || true
cp "$pkg/torchpeek.js" "$pkg/torchpeek_bg.wasm" dist/pkg/
mkdir -p npm/pkg
cp "$pkg/torchpeek.js" "$pkg/torchpeek_bg.wasm" npm/pkg/

raw=$(stat -c %s dist/pkg/torchpeek_bg.wasm)
gz=$(gzip -9 -c dist/pkg/torchpeek_bg.wasm | wc -c)
first=$(cat dist/*.html dist/*.js dist/*.css dist/pkg/* | gzip -9 | wc -c)
echo "build-web: dist/ ready; wasm $raw bytes ($gz gzip); first download $first bytes gzip" >&2
