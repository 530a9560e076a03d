#!/usr/bin/env bash
# The one-run ingest benchmark (see bench/run_all.py for the steps and every variable):
#
#   bench/run_all.sh                                                  # full length: ~10 min + import
#   DURATION=5s SESSIONS_DURATION=5s IMPORT_EVENTS=20000 bench/run_all.sh   # a quick check
#
# raw ceilings of both backends (no HTTP), the service on both backends with 1 and 2 workers,
# the baseline (gunicorn), GET /sessions alone and under ingest, and `import` of IMPORT_EVENTS
# events, one after the other; the markdown table goes to stdout and, with every raw JSON
# line, to bench/results/<UTC time>/. Needs bench/setup.sh (bench/.venv + wrk, run here when
# missing), the service's .venv, and Cassandra on 127.0.0.1:9042.
# Exit status: 0 all runs valid; 3 some run had non-2xx, socket or logged errors; 1 a step failed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
[[ -x "$ROOT/.venv/bin/python" ]] || { echo "run_all.sh: $ROOT/.venv is missing (the service's virtualenv)" >&2; exit 1; }
if [[ ! -x "$HERE/.venv/bin/gunicorn" ]] || ! command -v wrk >/dev/null; then
    "$HERE/setup.sh"
fi
exec "$ROOT/.venv/bin/python" "$HERE/run_all.py" "$@"
