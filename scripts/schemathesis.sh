#!/usr/bin/env bash
# API fuzzing: schemathesis against /openapi.json of a running `baton serve`.
#
#   scripts/schemathesis.sh                      # bounded: 40 examples per operation, 240 s
#   ST_MAX_EXAMPLES=500 ST_MAX_TIME=3600 scripts/schemathesis.sh
#
# Installs schemathesis into its own virtualenv (target/schemathesis-venv, or $ST_VENV),
# starts the server from BATON_BIN (default: builds target/debug/baton) on a random port
# with a fresh data directory and a config that has a tenant, an admin token and an
# ingress token, creates one interaction for a customer token, and runs schemathesis with
# the checks that must never fail: no 5xx, status codes, content types, headers and bodies
# as the schema says. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${ST_VENV:-target/schemathesis-venv}"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-40}"
MAX_TIME="${ST_MAX_TIME:-240}"
SEED="${ST_SEED:-$RANDOM}"

if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "==> installing schemathesis into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4.3,<5'
fi
"$VENV/bin/schemathesis" --version

if [ -z "${BATON_BIN:-}" ]; then
  cargo build -p baton
  BATON_BIN="$PWD/target/debug/baton"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

ADMIN="st-admin-$RANDOM$RANDOM"
INGRESS="st-ingress-$RANDOM$RANDOM"
cat >"$work/baton.toml" <<TOML
admin_token = "$ADMIN"

# Fuzzing creates far more interactions from one address than a customer would; the
# limits themselves are tested in crates/baton/tests/api/public_surface.rs.
[public_limits]
interactions_per_minute_per_token = 1000000
interactions_per_minute_per_address = 1000000

[interaction_limits]
default_max_queue_length = 0

[[tenants]]
name = "acme"
ingress_tokens = ["$INGRESS"]

[[tenants.services]]
name = "Sales"
channels = ["chat", "voice"]

[[tenants.agents]]
username = "alice"
password = "pw-1234"
services = ["Sales"]

[[tenants.integrations]]
key = "crm"
name = "CRM"
allowed_origins = ["https://crm.example.com"]
TOML

"$BATON_BIN" --log warn serve --listen 127.0.0.1:0 --config "$work/baton.toml" \
  --data-dir "$work/data" >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q "Baton listening on" "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
base="$(sed -n 's/^Baton listening on //p' "$work/stdout" | head -n1)"
[ -n "$base" ] || { cat "$work/stderr" >&2; echo "baton did not start" >&2; exit 1; }
echo "==> baton at $base"

customer="$(curl -sf -X POST "$base/api/v1/interactions" -H "Authorization: Bearer $INGRESS" \
  -H 'content-type: application/json' \
  -d '{"channel":"chat","service":"Sales","customer":{"name":"Schema"}}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["customerToken"])')"

cat >"$work/schemathesis.toml" <<TOML
[auth.openapi.admin]
bearer = "$ADMIN"

[auth.openapi.ingress]
bearer = "$INGRESS"

[auth.openapi.customer]
bearer = "$customer"
TOML

checks="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
set +e
# From the scratch folder: schemathesis keeps a `.schemathesis/` cache in its working directory.
venv_abs="$(cd "$VENV" && pwd)"
(cd "$work" && "$venv_abs/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
  --checks "$checks" --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" --seed "$SEED" \
  --workers 2 --request-timeout 10 --report junit --report-junit-path "$work/junit.xml" \
  ) | tee "$work/out.txt"
status=${PIPESTATUS[0]}
set -e
cases="$(python3 - "$work/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
print(sum(int(s.get("tests", 0)) for s in suites))
PY
)" || cases="?"
echo
echo "schemathesis: exit $status, seed $SEED, operations tested (junit): $cases"
grep -E "test cases|Test cases|generated" "$work/out.txt" | tail -n 3 || true
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "baton died during the run:" >&2; tail -n 40 "$work/stderr" >&2; exit 1
fi
exit "$status"
