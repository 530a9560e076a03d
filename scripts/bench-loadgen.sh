#!/usr/bin/env bash
# Start the server as `make run` does (`python -m graphql_service serve`, default
# keyspace, one worker) on a spare port, drive it with `loadgen` at each concurrency,
# keep every report as JSON, and stop the server again.
#
#   scripts/bench-loadgen.sh [DURATION] [CONCURRENCY...]   # defaults: 30 4 16
#
# Extra loadgen flags go in LOADGEN_ARGS, e.g. LOADGEN_ARGS="--rest-reads 0.1".
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-30}
shift || true
if [ $# -gt 0 ]; then concurrencies=("$@"); else concurrencies=(4 16); fi
port=${BENCH_PORT:-8123}
out=${OUT_DIR:-.run/bench}
py=.venv/bin/python
mkdir -p "$out"

$py -m graphql_service migrate
PORT=$port $py -m graphql_service serve >"$out/server-$port.log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 60); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    kill -0 $server 2>/dev/null || { cat "$out/server-$port.log"; exit 1; }
    sleep 1
done

results=()
for c in "${concurrencies[@]}"; do
    result="$out/loadgen-c$c-$(date -u +%Y%m%dT%H%M%SZ).json"
    # shellcheck disable=SC2086  # LOADGEN_ARGS is a list of flags
    $py -m graphql_service loadgen --url "http://127.0.0.1:$port" --duration "$duration" \
        --concurrency "$c" --seed 1 ${LOADGEN_ARGS:-} --json >"$result"
    results+=("$result")
done
$py scripts/bench_summary.py "${results[@]}"
