#!/usr/bin/env bash
# Checks that each crate under vendor/ is its crates.io release plus the patch beside it (see
# vendor/README.md): fetches the release into cargo's cache, applies the patch to a copy, and
# compares. With --update, replaces the vendored copy by the release with the patch applied.
set -euo pipefail
cd "$(dirname "$0")/.."

check() {
  local name=$1 version=$2
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  # A throwaway package outside the workspace, so the root's [patch.crates-io] does not apply.
  mkdir -p "$tmp/p/src"
  printf '[package]\nname = "vendor-check"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' \
    "$name" "$version" >"$tmp/p/Cargo.toml"
  : >"$tmp/p/src/lib.rs"
  cargo fetch -q --manifest-path "$tmp/p/Cargo.toml"
  local src
  src=$(cargo metadata -q --format-version 1 --manifest-path "$tmp/p/Cargo.toml" \
    | node -e "const m = JSON.parse(require('fs').readFileSync(0, 'utf8')); \
        const p = m.packages.find((p) => p.name === '$name' && p.version === '$version'); \
        console.log(require('path').dirname(p.manifest_path));")
  cp -r "$src" "$tmp/want"
  patch -s -p1 -d "$tmp/want" <"vendor/$name.patch"
  if [ "${UPDATE:-0}" = 1 ]; then
    rm -rf "vendor/$name"
    cp -r "$tmp/want" "vendor/$name"
    echo "check-vendor: vendor/$name is $name $version with vendor/$name.patch"
  elif ! diff -r "$tmp/want" "vendor/$name" >&2; then
    echo "check-vendor: vendor/$name is not $name $version with vendor/$name.patch (above)" >&2
    return 1
  else
    echo "check-vendor: vendor/$name is $name $version with vendor/$name.patch"
  fi
}

[ "${1:-}" = "--update" ] && UPDATE=1
check tract-core 0.23.9
