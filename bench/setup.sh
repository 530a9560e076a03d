#!/usr/bin/env bash
# Idempotent set-up of the benchmark harness:
#   - bench/.venv with the baseline app's pinned requirements (flask, gunicorn, cassandra-driver)
#   - the `wrk` load client (Debian package, LuaJIT scripting) when it is missing
# Safe to run again: an existing venv is reused (pip only installs what changed) and wrk is
# installed only when `wrk` is not on PATH.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
REQ="$HERE/baseline/requirements.txt"
PYTHON="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
# Re-install only when the requirements file changed since the last successful install.
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
    echo "setup: installing $REQ into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
    echo "$want" > "$STAMP"
else
    echo "setup: $VENV is up to date" >&2
fi

if ! command -v wrk >/dev/null 2>&1; then
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "setup: wrk is missing; run as root, or: sudo apt-get update && sudo apt-get install -y wrk" >&2
        exit 1
    fi
    echo "setup: installing wrk with apt" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
echo "setup: ok ($("$VENV/bin/python" --version), $(command -v wrk))" >&2
