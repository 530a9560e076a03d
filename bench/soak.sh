#!/usr/bin/env bash
# Ten minutes of sustained ingest and reads (SOAK_SECONDS): see bench/soak.py.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -x "$HERE/.venv/bin/python" ] || ! command -v wrk >/dev/null; then "$HERE/setup.sh"; fi
exec "$HERE/../.venv/bin/python" "$HERE/soak.py" "$@"
