#!/usr/bin/env bash
# Writes what the faces show for every committed model file into OUT/ (one file per kind): the
# CLI's `inspect --json --stats` and `check --json --health`, and the page's document and ONNX graph
# JSON (crates/torchpeek/examples/snapshot.rs). Run it before and after a change that must not change behaviour,
# then `diff -r BEFORE AFTER`.
#   bash scripts/snapshot-json.sh OUT
set -euo pipefail
out=$(realpath -m "${1:?usage: snapshot-json.sh OUT}")
cd "$(dirname "$0")/.."
mkdir -p "$out"
cargo build -q --profile ci -p torchpeek-cli --bin torchpeek
cargo build -q --profile ci -p torchpeek --example snapshot
bin=target/ci/torchpeek
mapfile -t files < <(find tests/fixtures tests/real tests/regressions tests/peers/samples -type f \
  ! -name '*.json' ! -name '*.npy' ! -name '*.md' ! -name '*.py' | sort)
: >"$out/inspect.txt"
: >"$out/check.txt"
for f in "${files[@]}"; do
  { echo "== $f"; "$bin" inspect --json --stats "$f" || echo "exit $?"; } >>"$out/inspect.txt" 2>&1
  { echo "== $f"; "$bin" check --json --health "$f" || echo "exit $?"; } >>"$out/check.txt" 2>&1
done
target/ci/examples/snapshot "${files[@]}" >"$out/page.txt"
wc -l "$out"/*.txt >&2
