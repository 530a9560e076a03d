#!/usr/bin/env bash
# Exit 3 (with a note on stderr) when a wrk summary line shows non-2xx answers or socket
# errors, 0 otherwise. Used by wrk_ingest.sh / wrk_sessions.sh.
line="${1:?summary line}"
python3 - "$line" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
bad = {k: v for k, v in s["socket_errors"].items() if v}
if s["non_2xx"] or bad:
    print(f"bench: {s['bench']}: {s['non_2xx']} non-2xx answers, socket errors {bad or 'none'}", file=sys.stderr)
    sys.exit(3)
PY
