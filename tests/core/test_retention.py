"""Retention by event time: rows carry TTLs and really disappear from Cassandra."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database
from graphql_service.store.sessions import SESSION_ROW

from ..events import end, new_player, now, session_pair, start
from ..servers import serving

pytestmark = pytest.mark.anyio


async def stored_rows(database: Database, keyspace: str, player: str) -> tuple[int, int]:
    """(session rows, end rows) stored for the player in sessions_by_player (cql/008)."""
    rows = await database.execute_schema(
        f"SELECT end_ts FROM {keyspace}.sessions_by_player WHERE player_id = ?", (player,)
    )
    sessions = sum(1 for r in rows if r["end_ts"] == SESSION_ROW)
    return sessions, len(rows) - sessions


async def cell_ttls(database: Database, keyspace: str, player: str) -> dict[str, int]:
    """TTL of the start cells and of the end cell of the player's (one) session row."""
    [row] = await database.execute_schema(
        f"SELECT TTL(start_ts) AS start, TTL(last_end) AS end FROM {keyspace}.sessions_by_player "
        "WHERE player_id = ? AND end_ts = ?",
        (player, SESSION_ROW),
    )
    return {"start": row["start"], "end": row["end"]}


async def test_rows_expire_when_their_events_pass_the_retention_period(settings: Settings, database: Database) -> None:
    short = settings.with_overrides(retention_seconds=8)
    async with serving(create_app(short, database=database)) as client:
        player = new_player()
        session = uuid.uuid4()
        # Events 2-4 s old with 8 s of retention: stored now, with TTLs of 4-6 s.
        pair = [
            start(player, session, now() - timedelta(seconds=3)),
            end(player, session, now() - timedelta(seconds=2)),
        ]

        assert (await client.post("/events", json=pair)).status_code == 200
        assert await stored_rows(database, short.keyspace, player) == (1, 1)
        # Each cell lives until its own event is 8 s old: 5 s for the start, 6 s for the end.
        ttls = await cell_ttls(database, short.keyspace, player)
        assert 0 < ttls["start"] <= 5 and 0 < ttls["end"] <= 6
        assert [
            s["session_id"] for s in (await client.get("/sessions", params={"player_id": player})).json()["sessions"]
        ] == [str(session)]

        for _ in range(30):  # wait (bounded) for Cassandra to expire the rows
            if await stored_rows(database, short.keyspace, player) == (0, 0):
                break
            await asyncio.sleep(0.5)

        assert await stored_rows(database, short.keyspace, player) == (0, 0)
        assert (await client.get("/sessions", params={"player_id": player})).json()["sessions"] == []


async def test_events_older_than_retention_are_not_stored_but_still_succeed(
    settings: Settings, database: Database
) -> None:
    async with serving(create_app(settings, database=database)) as http:
        player = new_player()
        _, pair = session_pair(player, now() - timedelta(days=366))

        response = await http.post("/events", json=pair)

        assert response.text == "POST success"
        assert await stored_rows(database, settings.keyspace, player) == (0, 0)
        assert (await http.get("/sessions", params={"player_id": player})).json()["sessions"] == []


async def test_ingestion_clock_keeps_replayed_history(settings: Settings, database: Database) -> None:
    replay = settings.with_overrides(retention_clock="ingestion")
    async with serving(create_app(replay, database=database)) as client:
        player = new_player()
        session = uuid.uuid4()
        begun = now() - timedelta(days=3000)

        await client.post(
            "/events", json=[start(player, session, begun), end(player, session, begun + timedelta(minutes=7))]
        )

        [found] = (await client.get("/sessions", params={"player_id": player})).json()["sessions"]
        assert found["duration_seconds"] == 420.0
        for kind, ttl in (await cell_ttls(database, replay.keyspace, player)).items():
            assert replay.retention_seconds - 60 < ttl <= replay.retention_seconds, kind


async def test_a_row_lives_until_its_event_is_a_year_old(settings: Settings, database: Database) -> None:
    async with serving(create_app(settings, database=database)) as client:
        player = new_player()
        _, pair = session_pair(player, now() - timedelta(days=300), minutes=10)

        assert (await client.post("/events", json=pair)).status_code == 200
        assert len((await client.get("/sessions", params={"player_id": player})).json()["sessions"]) == 1

        # Each cell lives until its own event is a year old: the session is listed until
        # its start is (a session is listed only while both halves are kept).
        ttls = await cell_ttls(database, settings.keyspace, player)
        start_expected = (timedelta(days=365) - timedelta(days=300)).total_seconds()
        end_expected = start_expected + timedelta(minutes=10).total_seconds()
        assert start_expected - 60 < ttls["start"] <= start_expected
        assert end_expected - 60 < ttls["end"] <= end_expected
