#!/usr/bin/env bash
# Read load: GET /sessions?player_id=<P>&limit=20 over the player ids in PLAYERS_FILE.
#
#   bench/wrk_sessions.sh http://127.0.0.1:8000 bench/results/players-<time>.txt
#
# PLAYERS_FILE has one player id a line (wrk_ingest.sh writes one: the players it gave complete
# sessions). Runs `wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout $TIMEOUT -s
# lua/sessions.lua URL`; wrk's report goes to stderr (and $OUT_DIR/sessions-<time>.txt),
# stdout gets only the one-line JSON summary.
# Environment (defaults): THREADS (2), CONNECTIONS (16), DURATION (30s), TIMEOUT (10s),
#   LIMIT (20), OUT_DIR (bench/results), BENCH_LABEL.
# Exit status: wrk's; 3 when the summary shows non-2xx answers or socket errors.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
URL="${1:?usage: wrk_sessions.sh URL PLAYERS_FILE}"
PLAYERS_FILE="${2:?usage: wrk_sessions.sh URL PLAYERS_FILE}"
[[ -s "$PLAYERS_FILE" ]] || { echo "wrk_sessions.sh: $PLAYERS_FILE is missing or empty" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed: run bench/setup.sh" >&2; exit 1; }
OUT_DIR="${OUT_DIR:-$HERE/results}"
mkdir -p "$OUT_DIR"
log="$OUT_DIR/sessions-$(date -u +%Y%m%dT%H%M%SZ).txt"
export PLAYERS_FILE="$(cd "$(dirname "$PLAYERS_FILE")" && pwd)/$(basename "$PLAYERS_FILE")"
export LIMIT="${LIMIT:-20}"
set +e
wrk -t"${THREADS:-2}" -c"${CONNECTIONS:-16}" -d"${DURATION:-30s}" --timeout "${TIMEOUT:-10s}" \
    --latency -s "$HERE/lua/sessions.lua" "$URL" > "$log"
rc=$?
set -e
grep -v '^{"bench"' "$log" >&2 || true
summary="$(grep '^{"bench"' "$log" || true)"
[[ -n "$summary" ]] || { echo "wrk_sessions.sh: no summary line (wrk exit $rc), see $log" >&2; [[ $rc -eq 0 ]] && rc=1; exit "$rc"; }
echo "$summary"
[[ $rc -ne 0 ]] && exit "$rc"
"$HERE/lib/check_summary.sh" "$summary"
