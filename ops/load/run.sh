#!/usr/bin/env bash
# Load test of the HTTP API on loopback: a fresh ledger in a temporary folder, `caseledger
# serve` in release mode, three tokens issued while it runs, then `caseledger-load` with 64
# connections. Set CASELEDGER_BIN to a folder holding other builds of the two binaries to
# measure those (for example the previous commit's, to compare in the same conditions), and
# CASELEDGER_SERVER_CONFIG to a configuration file for the server (ops/server.toml's keys).
#
# Usage: ops/load/run.sh [connections] [seconds] [cases-per-connection]
# Budgets (DESIGN.md): >= 10,000 acts/s; case read p99 <= 5 ms; act p99 <= 20 ms.
set -euo pipefail

connections="${1:-64}"
seconds="${2:-10}"
cases_per_connection="${3:-8}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
port="${CASELEDGER_LOAD_PORT:-18181}"

if [[ -z "${CASELEDGER_BIN:-}" ]]; then
    cargo build --release --manifest-path "$root/Cargo.toml" -p caseledger-cli -p caseledger-server --bins
fi
bin="${CASELEDGER_BIN:-$target/release}"

data="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$data"
}
trap cleanup EXIT

# Serve a fresh ledger, then issue the tokens through the running server (`caseledger token`
# reaches it with the admin credential it writes to the folder).
config_args=()
if [[ -n "${CASELEDGER_SERVER_CONFIG:-}" ]]; then
    config_args=(--config "$CASELEDGER_SERVER_CONFIG")
fi
RUST_LOG="${RUST_LOG:-warn}" "$bin/caseledger" serve "${config_args[@]}" --data "$data" --listen "127.0.0.1:$port" >/dev/null 2>"$data.server.log" &
server_pid=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.1
done

intake="$("$bin/caseledger" token issue --data "$data" --role intake --unit 12345 2>/dev/null)"
housing="$("$bin/caseledger" token issue --data "$data" --role department --unit housing 2>/dev/null)"
township="$("$bin/caseledger" token issue --data "$data" --role township --unit township/dongping 2>/dev/null)"

echo "caseledger load test: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, $connections connections, ${seconds}s per phase"
"$bin/caseledger-load" --address "127.0.0.1:$port" \
    --intake-token "$intake" --housing-token "$housing" --township-token "$township" \
    --connections "$connections" --seconds "$seconds" --cases-per-connection "$cases_per_connection"
# The server's memory after the load: its peak and its resident set now (Linux).
if [[ -r "/proc/$server_pid/status" ]]; then
    awk '/^VmHWM:/ { peak = $2 } /^VmRSS:/ { now = $2 }
         END { printf "server memory: peak resident %d MiB, resident now %d MiB\n", peak / 1024, now / 1024 }' \
        "/proc/$server_pid/status"
fi
rm -f "$data.server.log"
