#!/usr/bin/env bash
# The whole test suite, as README's quick start runs it and CI calls it (.ci/run).
# It installs what it needs: Debian's Chromium for the browser tests (e2e/run.sh) and the
# npm packages of e2e/ from their lock file. Nothing downloads a browser or a binary.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "format"
cargo fmt --all --check

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "build"
cargo build -p baton

step "Rust tests (unit, property, integration against real servers)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
cargo test --workspace --doc --quiet

step "browser tests (Chromium)"
BATON_BIN="$PWD/target/debug/baton" bash e2e/run.sh
