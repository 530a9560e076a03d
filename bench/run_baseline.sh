#!/usr/bin/env bash
# Benchmark the baseline ("original design", bench/baseline/app.py) with the ingest load:
#
#   bench/setup.sh                      # once: bench/.venv and wrk
#   DURATION=30s bench/run_baseline.sh
#
# 1. drops the `baseline` keyspace, so the run starts clean (the app re-creates it);
# 2. starts the app under `gunicorn -w 2 --threads 8` on 127.0.0.1:$PORT (8100) and waits for it;
# 3. runs bench/wrk_ingest.sh against it (wrk -t2 -c16 -d$DURATION -s lua/ingest.lua) and
#    prints the one-line JSON summary on stdout;
# 4. with SESSIONS_DURATION set (e.g. 10s), then runs bench/wrk_sessions.sh over the players
#    that the ingest gave complete sessions, and prints that summary too;
# 5. stops the app; with ALSO_FLASK=1, does 1-4 again with `flask run --without-threads` (a
#    single-threaded dev server) on 127.0.0.1:$FLASK_PORT (8101);
# 6. drops the keyspace again (KEEP_DATA=1 keeps it, to look at the rows afterwards).
#
# Environment (defaults): DURATION (30s), SESSIONS_DURATION (unset: no read run), THREADS (2),
# CONNECTIONS (16), TIMEOUT (10s), PORT (8100), FLASK_PORT (8101), ALSO_FLASK (0),
# KEEP_DATA (0), OUT_DIR (bench/results: wrk reports, app logs, player lists),
# CASSANDRA_CONTACT_POINTS / CASSANDRA_PORT / BASELINE_KEYSPACE (as for the app).
# Exit status: 0 when every run had only 2xx answers and no socket errors, else non-zero.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
export DURATION="${DURATION:-30s}"
PORT="${PORT:-8100}"
FLASK_PORT="${FLASK_PORT:-8101}"
export OUT_DIR="${OUT_DIR:-$HERE/results}"
mkdir -p "$OUT_DIR"

[[ -x "$VENV/bin/gunicorn" ]] || { echo "run_baseline.sh: $VENV is missing: run bench/setup.sh" >&2; exit 1; }
command -v wrk >/dev/null || { echo "run_baseline.sh: wrk is missing: run bench/setup.sh" >&2; exit 1; }

app_pid=""
status=0

drop_keyspace() { "$VENV/bin/python" "$HERE/baseline/admin.py" drop; }

stop_app() {
    if [[ -n "$app_pid" ]] && kill -0 "$app_pid" 2>/dev/null; then
        kill -TERM "$app_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$app_pid" 2>/dev/null && kill -KILL "$app_pid" 2>/dev/null || true
        wait "$app_pid" 2>/dev/null || true
    fi
    app_pid=""
}

cleanup() {
    stop_app
    if [[ "${KEEP_DATA:-0}" != 1 ]]; then drop_keyspace || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() {
    "$VENV/bin/python" - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)  # nothing listens: free
sys.exit(1)
PY
}

wait_ready() { # URL: until /health answers 200 (the app is up and connected to Cassandra)
    for _ in $(seq 1 120); do
        if curl -sf -o /dev/null "$1/health"; then return 0; fi
        kill -0 "$app_pid" 2>/dev/null || { echo "run_baseline.sh: the app exited, see its log" >&2; return 1; }
        sleep 0.5
    done
    echo "run_baseline.sh: $1 did not become ready in 60 s" >&2
    return 1
}

bench_once() { # LABEL URL
    local label="$1" url="$2" players="$OUT_DIR/players-$1.txt" rc=0
    echo "== $label: ingest, $DURATION, ${THREADS:-2} threads, ${CONNECTIONS:-16} connections, $url" >&2
    BENCH_LABEL="$label" PLAYERS_OUT="$players" "$HERE/wrk_ingest.sh" "$url" || rc=$?
    [[ $rc -eq 0 ]] || status=$rc
    if [[ -n "${SESSIONS_DURATION:-}" && -s "$players" ]]; then
        echo "== $label: sessions, $SESSIONS_DURATION over $(wc -l < "$players") players" >&2
        rc=0
        BENCH_LABEL="$label" DURATION="$SESSIONS_DURATION" "$HERE/wrk_sessions.sh" "$url" "$players" || rc=$?
        [[ $rc -eq 0 ]] || status=$rc
    fi
}

run_gunicorn() {
    port_free "$PORT" || { echo "run_baseline.sh: something already listens on 127.0.0.1:$PORT" >&2; return 1; }
    drop_keyspace
    local log="$OUT_DIR/baseline-gunicorn.log"
    (cd "$HERE/baseline" && exec "$VENV/bin/gunicorn" -c gunicorn.conf.py --no-control-socket \
        -w 2 --threads 8 -b "127.0.0.1:$PORT" app:app) > "$log" 2>&1 &
    app_pid=$!
    wait_ready "http://127.0.0.1:$PORT" || { tail -20 "$log" >&2; return 1; }
    bench_once baseline-gunicorn-w2-t8 "http://127.0.0.1:$PORT"
    stop_app
}

run_flask() {
    port_free "$FLASK_PORT" || { echo "run_baseline.sh: something already listens on 127.0.0.1:$FLASK_PORT" >&2; return 1; }
    drop_keyspace
    local log="$OUT_DIR/baseline-flask.log"
    (cd "$HERE/baseline" && exec "$VENV/bin/flask" --app app run --host 127.0.0.1 --port "$FLASK_PORT" \
        --without-threads --no-reload --no-debugger) > "$log" 2>&1 &
    app_pid=$!
    wait_ready "http://127.0.0.1:$FLASK_PORT" || { tail -20 "$log" >&2; return 1; }
    bench_once baseline-flask-single-thread "http://127.0.0.1:$FLASK_PORT"
    stop_app
}

run_gunicorn
if [[ "${ALSO_FLASK:-0}" == 1 ]]; then run_flask; fi
exit "$status"
