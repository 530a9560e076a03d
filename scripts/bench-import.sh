#!/usr/bin/env bash
# Import a freshly generated data set into the configured keyspace (default
# player_sessions on the local node) and keep the summary as JSON.
#
#   scripts/bench-import.sh [EVENTS] [OUT_DIR]      # defaults: 100000 .run/bench
#
# The data set is new every run (new session ids), so each run stores EVENTS events
# instead of finding them all already stored.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
out=${2:-.run/bench}
py=.venv/bin/python
mkdir -p "$out"

$py -m graphql_service migrate
data="$out/events-$events.jsonl.gz"
$py -m graphql_service loadgen --write-jsonl "$data" --events "$events"
result="$out/import-$events-$(date -u +%Y%m%dT%H%M%SZ).json"
$py -m graphql_service import "$data" --json | tee "$result"
$py scripts/bench_summary.py "$result"
