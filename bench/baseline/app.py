"""The "original design" that the player session service replaces, kept small for comparison.

One Flask app, two endpoints, no cleverness:

* ``POST /events`` with ``{"rows": [{"event": "start"|"end", "player_id", "session_id", "ts",
  "country" (starts only)}, ...]}``: one synchronous, *unprepared* ``INSERT ... USING TTL``
  per event (``session.execute`` with a query string), answers ``200 text/plain "POST success"``.
* ``GET /sessions?player_id=P[&limit=20]``: reads all of the player's starts and all of the
  player's ends (two SELECTs), joins them in Python by session id and returns the newest
  ``limit`` complete sessions as JSON (the same shape as the service's answer).

The data model is the original one: ``startevents`` / ``endevents`` keyed
``PRIMARY KEY (player_id, ts)``, in the keyspace ``baseline`` (SimpleStrategy, RF 1), created
when missing. Note what that key implies (and the service fixes): two starts of one player in
the same millisecond overwrite each other, and a read scans the player's whole year.

Run it with gunicorn (``gunicorn -c gunicorn.conf.py app:app``; each worker connects once,
after the fork) or ``flask --app app run``. Settings come from the environment:
``CASSANDRA_CONTACT_POINTS`` (default 127.0.0.1), ``CASSANDRA_PORT`` (9042),
``BASELINE_KEYSPACE`` (baseline).
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime

from cassandra.cluster import Cluster, Session
from flask import Flask, Response, jsonify, request

KEYSPACE = os.environ.get("BASELINE_KEYSPACE", "baseline")
CONTACT_POINTS = [h.strip() for h in os.environ.get("CASSANDRA_CONTACT_POINTS", "127.0.0.1").split(",") if h.strip()]
CQL_PORT = int(os.environ.get("CASSANDRA_PORT", "9042"))
TTL_SECONDS = 31536000  # one year

if not KEYSPACE.isidentifier():
    raise SystemExit(f"BASELINE_KEYSPACE must be a plain CQL identifier, not {KEYSPACE!r}")

SCHEMA = [
    f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} "
    "WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.startevents ("
    "player_id text, ts timestamp, session_id uuid, country text, PRIMARY KEY (player_id, ts))",
    f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.endevents ("
    "player_id text, ts timestamp, session_id uuid, PRIMARY KEY (player_id, ts))",
]

# Unprepared on purpose: the driver interpolates the values into the query text on the client
# and Cassandra parses every statement anew.
INSERT_START = (
    f"INSERT INTO {KEYSPACE}.startevents (player_id, ts, session_id, country) "
    f"VALUES (%s, %s, %s, %s) USING TTL {TTL_SECONDS}"
)
INSERT_END = f"INSERT INTO {KEYSPACE}.endevents (player_id, ts, session_id) VALUES (%s, %s, %s) USING TTL {TTL_SECONDS}"
SELECT_STARTS = f"SELECT session_id, ts, country FROM {KEYSPACE}.startevents WHERE player_id = %s"
SELECT_ENDS = f"SELECT session_id, ts FROM {KEYSPACE}.endevents WHERE player_id = %s"

# One driver session per process, made on first use in that process (so after gunicorn's
# fork: the driver's connections and event-loop thread must not cross a fork).
_session: Session | None = None
_session_pid: int | None = None
_session_lock = threading.Lock()


def get_session() -> Session:
    global _session, _session_pid
    if _session is None or _session_pid != os.getpid():
        with _session_lock:
            if _session is None or _session_pid != os.getpid():
                cluster = Cluster(CONTACT_POINTS, port=CQL_PORT)
                session = cluster.connect()
                for statement in SCHEMA:  # IF NOT EXISTS: a no-op once the schema is there
                    session.execute(statement)
                _session, _session_pid = session, os.getpid()
    return _session


class BadRequest(Exception):
    pass


def _parse_ts(value: object) -> datetime:
    if not isinstance(value, str):
        raise BadRequest("ts must be an ISO-8601 string")
    try:
        ts = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"ts is not ISO-8601: {value!r}") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts


def _parse_row(row: object) -> tuple[str, tuple[object, ...]]:
    """The INSERT and its values for one event; BadRequest if the event is malformed."""
    if not isinstance(row, dict):
        raise BadRequest("each row must be a JSON object")
    kind = row.get("event")
    player_id = row.get("player_id")
    if not isinstance(player_id, str) or not player_id:
        raise BadRequest("player_id must be a non-empty string")
    try:
        session_id = uuid.UUID(str(row.get("session_id")))
    except ValueError:
        raise BadRequest("session_id must be a UUID") from None
    ts = _parse_ts(row.get("ts"))
    if kind == "start":
        country = row.get("country")
        if not isinstance(country, str) or not country:
            raise BadRequest("country is required on a start event")
        return INSERT_START, (player_id, ts, session_id, country)
    if kind == "end":
        return INSERT_END, (player_id, ts, session_id)
    raise BadRequest('event must be "start" or "end"')


app = Flask(__name__)


@app.errorhandler(BadRequest)
def _bad_request(exc: BadRequest) -> tuple[Response, int]:
    return Response(str(exc) + "\n", mimetype="text/plain"), 400


@app.post("/events")
def post_events() -> Response:
    body = request.get_json(silent=True)
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise BadRequest('body must be {"rows": [...]}')
    statements = [_parse_row(row) for row in rows]  # validate the whole batch first
    session = get_session()
    for query, values in statements:
        session.execute(query, values)  # one synchronous round trip per event
    return Response("POST success", mimetype="text/plain")


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


@app.get("/sessions")
def get_sessions() -> Response | tuple[Response, int]:
    player_id = request.args.get("player_id")
    if not player_id:
        raise BadRequest("player_id is required")
    try:
        limit = int(request.args.get("limit", "20"))
    except ValueError:
        raise BadRequest("limit must be an integer") from None
    if not 1 <= limit <= 100:
        raise BadRequest("limit must be between 1 and 100")
    session = get_session()
    starts = {row.session_id: row for row in session.execute(SELECT_STARTS, (player_id,))}
    ends = {row.session_id: row for row in session.execute(SELECT_ENDS, (player_id,))}
    complete = []
    for session_id, end in ends.items():
        start = starts.get(session_id)
        if start is None:
            continue
        start_ts, end_ts = _utc(start.ts), _utc(end.ts)
        complete.append(
            {
                "session_id": str(session_id),
                "player_id": player_id,
                "country": start.country,
                "start_ts": start_ts.isoformat(timespec="milliseconds"),
                "end_ts": end_ts.isoformat(timespec="milliseconds"),
                "duration_seconds": (end_ts - start_ts).total_seconds(),
                "_end": end_ts,
            }
        )
    complete.sort(key=lambda s: s["_end"], reverse=True)
    for s in complete:
        del s["_end"]
    return jsonify({"player_id": player_id, "sessions": complete[:limit]})


@app.get("/health")
def health() -> Response:
    get_session()
    return Response("ok", mimetype="text/plain")
