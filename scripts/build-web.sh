#!/usr/bin/env bash
# Builds the complete static site into dist/ (copy it to any static host) and the npm package's
# wasm into npm/pkg/. Runs scripts/setup.sh first (a no-op when everything is installed).
# `--copy-only`: no cargo and no wasm-bindgen; dist/ is written again from www/ and the wasm of the
# last build, for changes to www/ alone. Copying files into dist/ by hand is not enough: the service
# worker serves the files it kept until dist/sw.js changes, and this writes it again.
# The engine is built twice, with one JS glue: plain SIMD and with relaxed-simd (fused multiply-adds
# in tract's matrix kernels and ours); www/workers/engine-build.js picks one where it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
copy_only=0
for arg in "$@"; do
  case "$arg" in
    --copy-only) copy_only=1 ;;
    *) echo "build-web: unknown option $arg" >&2; exit 1 ;;
  esac
done
[ "$copy_only" = 1 ] || bash scripts/setup.sh

target_dir="${CARGO_TARGET_DIR:-target}"
pkg="$target_dir/web-pkg"
if [ "$copy_only" = 1 ]; then
  [ -f "$pkg/torchpeek_engine_relaxed_bg.wasm" ] || { echo "build-web: --copy-only needs a full build first ($pkg)" >&2; exit 1; }
else
# Both wasm modules in one cargo run (they share the core's build): the page's and npm's
# (crates/torchpeek-wasm: the core only) and the engine's (crates/torchpeek-engine-wasm: tract,
# loaded only when a model is run, so opening files stays light).
# 128-bit SIMD (every current browser and Node has it): the statistics loop runs about 2x faster,
# and the engine's kernels use it.
echo "build-web: cargo build (wasm32 + simd128, release): torchpeek-wasm, torchpeek-engine-wasm" >&2
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
  cargo build --release --target wasm32-unknown-unknown -p torchpeek-wasm -p torchpeek-engine-wasm
wasm="$target_dir/wasm32-unknown-unknown/release/torchpeek_wasm.wasm"
engine_wasm="$target_dir/wasm32-unknown-unknown/release/torchpeek_engine_wasm.wasm"

rm -rf "$pkg"
wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name torchpeek "$wasm"

# wasm-opt is optional, and only binaryen 116 or later handles the reference types rustc's wasm32 target
# and wasm-bindgen use (Debian 12's 108 writes a module that fails at instantiation).
wasm_opt_version=$(wasm-opt --version 2>/dev/null | grep -oE '[0-9]+' | head -n 1 || true)
optimize() { # FILE [extra wasm-opt flags]
  local file=$1
  shift
  if [ -n "$wasm_opt_version" ] && [ "$wasm_opt_version" -ge 116 ] && [ "${TORCHPEEK_NO_WASM_OPT:-}" != 1 ]; then
    if wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd "$@" \
        "$file" -o "$file.opt" 2>"$file.log"; then
      mv "$file.opt" "$file"
    else
      echo "build-web: wasm-opt failed on $file (see $file.log); keeping the unoptimized wasm" >&2
    fi
    rm -f "$file.log"
  fi
}
optimize "$pkg/torchpeek_bg.wasm"

wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name torchpeek_engine "$engine_wasm"
optimize "$pkg/torchpeek_engine_bg.wasm"

# The relaxed-simd build, in its own target folder (other RUSTFLAGS would make cargo rebuild the
# plain build's crates each time); its glue must be the plain build's, byte for byte.
echo "build-web: cargo build (wasm32 + simd128 + relaxed-simd, release): torchpeek-engine-wasm" >&2
CARGO_TARGET_DIR="$target_dir/relaxed-simd" \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
  cargo build --release --target wasm32-unknown-unknown -p torchpeek-engine-wasm
wasm-bindgen --target web --no-typescript --out-dir "$pkg/relaxed" --out-name torchpeek_engine \
  "$target_dir/relaxed-simd/wasm32-unknown-unknown/release/torchpeek_engine_wasm.wasm"
if ! cmp -s "$pkg/relaxed/torchpeek_engine.js" "$pkg/torchpeek_engine.js"; then
  echo "build-web: the relaxed-simd engine's JS glue differs from the plain build's" >&2
  exit 1
fi
mv "$pkg/relaxed/torchpeek_engine_bg.wasm" "$pkg/torchpeek_engine_relaxed_bg.wasm"
rm -rf "$pkg/relaxed"
optimize "$pkg/torchpeek_engine_relaxed_bg.wasm" --enable-relaxed-simd
fi

rm -rf dist
mkdir -p dist/pkg
# dist/ mirrors www/: index.html, styles.css and sw.js at the root (the service worker's scope is the
# whole site), then page/ (the page's thread), workers/ (the workers' entry points and what only they
# import), shared/ (modules both import, when there are any) and icons/ (the web app manifest's).
cp www/*.html www/*.js www/*.css www/*.webmanifest dist/ 2>/dev/null || true
for dir in page workers shared icons; do
  if [ -d "www/$dir" ]; then cp -R "www/$dir" dist/; fi
done
engine_files=("$pkg/torchpeek_engine.js" "$pkg/torchpeek_engine_bg.wasm" "$pkg/torchpeek_engine_relaxed_bg.wasm")
cp "$pkg/torchpeek.js" "$pkg/torchpeek_bg.wasm" "${engine_files[@]}" dist/pkg/
# Last, once every file is in place: dist/sw.js from the template www/sw.js, with the list of every
# file of dist/ (the service worker fetches them all at install: the page works offline from the
# first visit) and the build id, a hash of their contents.
precache_out=$(node scripts/precache.mjs dist)
read -r build_id precache_files precache_bytes <<<"$precache_out"
mkdir -p npm/pkg
# The npm package: the core's wasm, and for `torchpeek/engine` the engine's wasm and the run protocol
# and the typed arrays the page's engine worker and Run panel use.
cp "$pkg/torchpeek.js" "$pkg/torchpeek_bg.wasm" "${engine_files[@]}" \
  www/workers/engine-run.js www/workers/engine-build.js www/shared/typed-arrays.js npm/pkg/

raw=$(stat -c %s dist/pkg/torchpeek_bg.wasm)
gz=$(gzip -9 -c dist/pkg/torchpeek_bg.wasm | wc -c)
# The first download: everything but the engine (its worker and wasm load when a model is run).
first=$(find dist -type f ! -path 'dist/workers/engine-*.js' ! -path 'dist/pkg/torchpeek_engine*' -print0 | sort -z | xargs -0 cat | gzip -9 | wc -c)
# The engine: one of its two builds is downloaded (the relaxed-simd one's size is given).
engine_raw=$(stat -c %s dist/pkg/torchpeek_engine_relaxed_bg.wasm)
engine_gz=$(cat dist/workers/engine-*.js dist/pkg/torchpeek_engine.js dist/pkg/torchpeek_engine_relaxed_bg.wasm | gzip -9 | wc -c)
echo "build-web: dist/ ready; wasm $raw bytes ($gz gzip); first download $first bytes gzip;" \
  "engine (on run) wasm $engine_raw bytes, $engine_gz bytes gzip with its worker;" \
  "build $build_id: the service worker lists $precache_files files, $precache_bytes bytes (it keeps one of the engine's two builds)" >&2
