#!/usr/bin/env bash
# Builds the page and serves dist/ on http://127.0.0.1:${PORT:-8080}/ (Ctrl-C to stop).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-web.sh
exec node scripts/static-server.mjs dist "${PORT:-8080}"
