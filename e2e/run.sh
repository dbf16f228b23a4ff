#!/usr/bin/env bash
# Runs Baton's browser tests: Debian's Chromium (installed with apt if missing; no browser
# is ever downloaded by npm), playwright-core from package-lock.json, Node's test runner.
# The server binary is $BATON_BIN (default ../target/debug/baton, built by the caller).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund || npm install --no-audit --no-fund
BIN="${BATON_BIN:-../target/debug/baton}"
if [ ! -x "$BIN" ]; then
  echo "e2e: server binary $BIN not found; build it with: cargo build -p baton" >&2
  exit 1
fi
exec node --test --test-concurrency=1 "$@"
