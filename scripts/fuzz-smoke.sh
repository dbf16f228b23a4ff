#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time and prints executions per target.
#
#   scripts/fuzz-smoke.sh              # 20 s per target
#   FUZZ_SECS=600 scripts/fuzz-smoke.sh
#   FUZZ_TARGETS="core_commands" scripts/fuzz-smoke.sh
#   FUZZ_OPTIONAL=1 scripts/fuzz-smoke.sh   # skip (exit 0) when cargo-fuzz cannot be installed
#
# The stable toolchain runs cargo-fuzz with RUSTC_BOOTSTRAP=1 (it needs -Zsanitizer).
# Targets are built with debug assertions, so `Core::apply` checks its invariants after every
# command. New inputs go to target/fuzz-corpus/<target>; the small seed corpus in
# fuzz/seeds/<target> is only read. A crash leaves its input in fuzz/artifacts/<target>/ and
# fails the script; replay it with `RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${FUZZ_SECS:-20}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed; installing it from crates.io"
  if ! cargo install cargo-fuzz --locked; then
    if [ "${FUZZ_OPTIONAL:-0}" = "1" ]; then
      echo "WARNING: cargo-fuzz could not be installed; fuzzing SKIPPED (FUZZ_OPTIONAL=1)" >&2
      exit 0
    fi
    echo "ERROR: cargo-fuzz could not be installed; set FUZZ_OPTIONAL=1 to skip fuzzing" >&2
    exit 1
  fi
fi
echo "$(cargo fuzz --version)"

targets="${FUZZ_TARGETS:-$(cargo fuzz list --fuzz-dir fuzz)}"
# Debug assertions on (-a), no sanitizer: the code under test is safe Rust, and without
# ASan each target runs several times faster. FUZZ_SANITIZER=address turns it back on.
sanitizer="${FUZZ_SANITIZER:-none}"
if [ -z "${FUZZ_TARGETS:-}" ]; then
  cargo fuzz build --fuzz-dir fuzz -a -s "$sanitizer"
else
  for t in $targets; do cargo fuzz build --fuzz-dir fuzz -a -s "$sanitizer" "$t"; done
fi

summary=()
status=0
for t in $targets; do
  corpus="target/fuzz-corpus/$t"
  mkdir -p "$corpus" "fuzz/seeds/$t"
  log="target/fuzz-corpus/$t.log"
  echo "==> fuzzing $t for ${SECS}s"
  if ! cargo fuzz run --fuzz-dir fuzz -a -s "$sanitizer" "$t" "$corpus" "fuzz/seeds/$t" -- \
      -max_total_time="$SECS" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 >"$log" 2>&1; then
    status=1
    tail -n 40 "$log" >&2
    echo "FAILED: $t (input saved under fuzz/artifacts/$t/)" >&2
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*')
  summary+=("$(printf '%-16s %10s execs %8s exec/s  cov %s' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}")")
done
echo
echo "fuzz summary (${SECS}s per target):"
printf '  %s\n' "${summary[@]}"
exit $status
