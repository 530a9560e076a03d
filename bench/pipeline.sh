#!/usr/bin/env bash
# The pipeline benchmark (issue 16; see bench/pipeline.py for the phases and every variable):
#
#   bench/pipeline.sh                          # full length: ingest 20 s into 5,000 players, ~3 min
#   DURATION=5s PLAYERS=500 bench/pipeline.sh  # a quick check, ~1 min
#
# For this service (`serve`, 1 worker, acsylla) and then the original design (bench/baseline
# under gunicorn), each in a fresh keyspace of its own (dropped at the end): ingest with wrk,
# the first read of every player, a second read; the markdown table goes to stdout and, with
# every raw JSON line, to bench/results/pipeline-<UTC time>/. Needs bench/setup.sh (bench/.venv
# + wrk, run here when missing), the service's .venv, and Cassandra on 127.0.0.1:9042.
# Exit status: 0 all phases valid; 3 some had non-2xx, socket or logged errors or wrong
# answers; 1 a step failed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
[[ -x "$ROOT/.venv/bin/python" ]] || { echo "pipeline.sh: $ROOT/.venv is missing (the service's virtualenv)" >&2; exit 1; }
if [[ ! -x "$HERE/.venv/bin/gunicorn" ]] || ! command -v wrk >/dev/null; then
    "$HERE/setup.sh"
fi
exec "$HERE/.venv/bin/python" "$HERE/pipeline.py" "$@"
