"""Small CQL chores for the benchmark (cqlsh is not installed): run with bench/.venv/bin/python.

    admin.py drop                 drop the baseline keyspace (if it exists)
    admin.py count                count the rows of baseline.startevents / endevents (full scans:
                                  fine for a benchmark's few thousand rows, not for production)
    admin.py players N            print N player ids that have at least one end event

Settings as for app.py: CASSANDRA_CONTACT_POINTS, CASSANDRA_PORT, BASELINE_KEYSPACE.
"""

from __future__ import annotations

import json
import os
import sys

from cassandra.cluster import Cluster

KEYSPACE = os.environ.get("BASELINE_KEYSPACE", "baseline")
CONTACT_POINTS = [h.strip() for h in os.environ.get("CASSANDRA_CONTACT_POINTS", "127.0.0.1").split(",") if h.strip()]
CQL_PORT = int(os.environ.get("CASSANDRA_PORT", "9042"))


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"drop", "count", "players"}:
        print(__doc__, file=sys.stderr)
        return 2
    if not KEYSPACE.isidentifier():
        print(f"BASELINE_KEYSPACE must be a plain CQL identifier, not {KEYSPACE!r}", file=sys.stderr)
        return 2
    cluster = Cluster(CONTACT_POINTS, port=CQL_PORT)
    try:
        session = cluster.connect()
        if argv[0] == "drop":
            # A generous timeout: dropping a keyspace flushes and snapshots its tables.
            session.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=120)
            print(f"dropped keyspace {KEYSPACE} (if it existed)", file=sys.stderr)
        elif argv[0] == "count":
            counts = {}
            for table in ("startevents", "endevents"):
                row = session.execute(f"SELECT COUNT(*) FROM {KEYSPACE}.{table}", timeout=120).one()
                counts[table] = row[0]
            print(json.dumps(counts))
        else:
            wanted = int(argv[1]) if len(argv) > 1 else 10
            seen: list[str] = []
            for row in session.execute(f"SELECT DISTINCT player_id FROM {KEYSPACE}.endevents", timeout=120):
                seen.append(row.player_id)
                if len(seen) >= wanted:
                    break
            print("\n".join(seen))
    finally:
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
