#!/usr/bin/env bash
# Ingest load against any server with the POST /events contract (the baseline or the service):
#
#   bench/wrk_ingest.sh http://127.0.0.1:8000
#
# Runs `wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout $TIMEOUT -s lua/ingest.lua URL`.
# wrk's own report goes to stderr (and to $OUT_DIR/ingest-<time>.txt); stdout gets only the
# one-line JSON summary, so `bench/wrk_ingest.sh URL > result.json` works.
# Environment (defaults): THREADS (2), CONNECTIONS (16), DURATION (30s), TIMEOUT (10s),
#   OUT_DIR (bench/results), PLAYERS_OUT (players with complete sessions are written here;
#   default $OUT_DIR/players-<time>.txt), BENCH_PLAYERS (1000 players per thread),
#   BENCH_PLAYER_PREFIX (p), BENCH_LABEL (free text copied into the summary).
# Exit status: wrk's; 3 when the summary shows non-2xx answers or socket errors.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
URL="${1:?usage: wrk_ingest.sh URL   (e.g. http://127.0.0.1:8000)}"
command -v wrk >/dev/null || { echo "wrk is not installed: run bench/setup.sh" >&2; exit 1; }
OUT_DIR="${OUT_DIR:-$HERE/results}"
mkdir -p "$OUT_DIR"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
log="$OUT_DIR/ingest-$stamp.txt"
export PLAYERS_OUT="${PLAYERS_OUT:-$OUT_DIR/players-$stamp.txt}"
set +e
wrk -t"${THREADS:-2}" -c"${CONNECTIONS:-16}" -d"${DURATION:-30s}" --timeout "${TIMEOUT:-10s}" \
    --latency -s "$HERE/lua/ingest.lua" "$URL" > "$log"
rc=$?
set -e
grep -v '^{"bench"' "$log" >&2 || true
echo "players with complete sessions: $PLAYERS_OUT" >&2
summary="$(grep '^{"bench"' "$log" || true)"
[[ -n "$summary" ]] || { echo "wrk_ingest.sh: no summary line (wrk exit $rc), see $log" >&2; [[ $rc -eq 0 ]] && rc=1; exit "$rc"; }
echo "$summary"
[[ $rc -ne 0 ]] && exit "$rc"
"$HERE/lib/check_summary.sh" "$summary"
