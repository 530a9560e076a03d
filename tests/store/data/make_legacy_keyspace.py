# ruff: noqa
# A one-off generator run against the code before cql/008 (PYTHONPATH=<checkout of 9310500>), kept
# so the fixture can be made again; it is not part of the package and is held to no style.
"""Writes a keyspace with the store before cql/008 (run with PYTHONPATH=/work/old) and dumps
its rows plus what that code's reads answered, as JSON with times relative to the dump."""

import asyncio
import json
import sys
import uuid
from datetime import datetime, timedelta

from graphql_service.core.service import SessionService
from graphql_service.domain.events import utc_now
from graphql_service.settings import Settings
from graphql_service.store import backends, migrations


def ev(kind, p, s, t, c=None):
    d = {"event": kind, "player_id": p, "session_id": str(s), "ts": t.isoformat(timespec="milliseconds")}
    if c:
        d["country"] = c
    return d


async def main():
    s = Settings.from_env().with_overrides(keyspace="legacy_gen", settle_interval_seconds=0)
    db = await backends.connect(s)
    await migrations.drop_keyspace(db, s.keyspace)
    await migrations.apply(db, s)
    svc = await SessionService.create(db, s)
    now = utc_now().replace(second=0, microsecond=0) - timedelta(minutes=1)
    h = lambda m: now - timedelta(minutes=m)
    S = lambda: uuid.uuid4()
    players = {n: f"legacy-{n}" for n in "ABCDEF"}
    A, B, C, D, E, F = players.values()
    a = [S() for _ in range(3)]
    for i, x in enumerate(a):
        await svc.submit_events([ev("start", A, x, h(300 - 60 * i), "FI"), ev("end", A, x, h(280 - 60 * i))])
    await svc.recent_sessions(A)  # folded
    b = [S() for _ in range(2)]
    for i, x in enumerate(b):
        await svc.submit_events(
            [ev("end", B, x, h(100 - 30 * i)), ev("start", B, x, h(120 - 30 * i), "SE")]
        )  # pending only
    c1, c2 = S(), S()
    await svc.submit_events([ev("start", C, c1, h(200), "DE"), ev("end", C, c1, h(190))])
    await svc.recent_sessions(C)  # folded
    await svc.submit_events([ev("end", C, c1, h(185))])  # later end re-sent, pending
    await svc.submit_events([ev("start", C, c2, h(90), "NO"), ev("end", C, c2, h(60))])
    await svc.submit_events([ev("start", C, c2, h(87), "AT")])  # start re-sent into another minute, pending
    d1 = S()
    await svc.submit_events([ev("start", D, d1, h(50), "FR")])
    await svc.submit_events([ev("end", D, d1, h(55))])  # end before start
    await svc.recent_sessions(D)
    e1, e2 = S(), S()
    await svc.submit_events([ev("start", E, e1, h(20), "ES"), ev("end", E, e2, h(10))])
    f1, f2 = S(), S()
    await svc.submit_events([ev("start", F, f1, h(400), "IT"), ev("end", F, f1, h(380))])
    await svc.recent_sessions(F)
    await svc.submit_events([ev("end", F, f1, h(370)), ev("start", F, f2, h(30), "IT"), ev("end", F, f2, h(25))])
    T = utc_now()
    rel = lambda t: None if t is None else (t - now).total_seconds()
    dump = {"tables": {}, "expected": {}}
    for table in ("session_events_by_player", "completed_sessions_by_player", "session_starts_by_minute"):
        cols = {
            "session_events_by_player": "player_id, folded, session_id, kind, ts, country, received_at, ttl(received_at) AS ttl",
            "completed_sessions_by_player": "player_id, end_ts, session_id, start_ts, country, ttl(start_ts) AS ttl",
            "session_starts_by_minute": "minute, shard, country, player_id, session_id, ts, ttl(ts) AS ttl",
        }[table]
        rows = await db.execute_schema(f"SELECT {cols} FROM {s.keyspace}.{table}")
        dump["tables"][table] = [
            {
                k: (rel(v) if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v)
                for k, v in r.items()
            }
            for r in rows
        ]
    for p in players.values():
        sessions = await svc.recent_sessions(p)
        st = await svc.player_stats(p)
        dump["expected"][p] = {
            "sessions": [[str(x.session_id), x.country, rel(x.start_ts), rel(x.end_ts)] for x in sessions],
            "completed_sessions": st.completed_sessions,
            "total_seconds": st.total_seconds,
        }
    rep = await svc.session_starts(24)
    dump["expected"]["session_starts"] = {c.country: c.session_starts for c in rep.countries}
    json.dump(dump, open(sys.argv[1], "w"), indent=1, sort_keys=True)
    await migrations.drop_keyspace(db, s.keyspace)
    await db.close()


asyncio.run(main())
