"""Retention by event time: rows carry TTLs and really disappear from Cassandra."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database

from ..events import end, new_player, now, session_pair, start
from ..servers import serving

pytestmark = pytest.mark.anyio


async def stored_rows(database: Database, keyspace: str, player: str) -> tuple[int, int, int]:
    """(listed sessions, pending events, archived events) stored for the player. Ingest
    writes each event as a pending row of session_events_by_player; the next read of the
    player folds them: the session is listed and its events move to the archive."""
    listed = await database.execute_schema(
        f"SELECT session_id FROM {keyspace}.completed_sessions_by_player WHERE player_id = ?", (player,)
    )
    events = await database.execute_schema(
        f"SELECT folded FROM {keyspace}.session_events_by_player WHERE player_id = ? AND folded IN (false, true)",
        (player,),
    )
    pending = sum(1 for e in events if not e["folded"])
    return len(listed), pending, len(events) - pending


async def listing_ttl(database: Database, keyspace: str, player: str) -> int:
    rows = await database.execute_schema(
        f"SELECT TTL(start_ts) AS ttl FROM {keyspace}.completed_sessions_by_player WHERE player_id = ?", (player,)
    )
    ttl: int = rows[0]["ttl"]
    return ttl


async def event_ttls(database: Database, keyspace: str, player: str) -> dict[str, int]:
    """TTL of each stored event row of the player, by kind (its only non-key column is received_at)."""
    rows = await database.execute_schema(
        f"SELECT kind, TTL(received_at) AS ttl FROM {keyspace}.session_events_by_player "
        "WHERE player_id = ? AND folded IN (false, true)",
        (player,),
    )
    return {row["kind"]: row["ttl"] for row in rows}


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
        assert await stored_rows(database, short.keyspace, player) == (0, 2, 0)
        # Each pending event lives until it is 8 s old: 5 s for the start, 6 s for the end.
        ttls = await event_ttls(database, short.keyspace, player)
        assert 0 < ttls["start"] <= 5 and 0 < ttls["end"] <= 6
        # The read folds the two pending events: one listed session, two archived events.
        assert [
            s["session_id"] for s in (await client.get("/sessions", params={"player_id": player})).json()["sessions"]
        ] == [str(session)]
        assert await stored_rows(database, short.keyspace, player) == (1, 0, 2)
        # The listing lives until its session's end is 8 s old, not 8 s from now.
        assert 0 < await listing_ttl(database, short.keyspace, player) <= 6

        for _ in range(30):  # wait (bounded) for Cassandra to expire the rows
            if await stored_rows(database, short.keyspace, player) == (0, 0, 0):
                break
            await asyncio.sleep(0.5)

        assert await stored_rows(database, short.keyspace, player) == (0, 0, 0)
        assert (await client.get("/sessions", params={"player_id": player})).json()["sessions"] == []


async def test_events_older_than_retention_are_not_stored_but_still_succeed(
    settings: Settings, database: Database
) -> None:
    async with serving(create_app(settings, database=database)) as http:
        player = new_player()
        _, pair = session_pair(player, now() - timedelta(days=366))

        response = await http.post("/events", json=pair)

        assert response.text == "POST success"
        assert await stored_rows(database, settings.keyspace, player) == (0, 0, 0)
        assert (await http.get("/sessions", params={"player_id": player})).json()["sessions"] == []
        assert await stored_rows(database, settings.keyspace, player) == (0, 0, 0)


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
        ttl = await listing_ttl(database, replay.keyspace, player)
        assert replay.retention_seconds - 60 < ttl <= replay.retention_seconds
        for kind, event_ttl in (await event_ttls(database, replay.keyspace, player)).items():
            assert replay.retention_seconds - 60 < event_ttl <= replay.retention_seconds, kind
        # The events themselves, far past retention by event time, are kept (archived) too.
        assert await stored_rows(database, replay.keyspace, player) == (1, 0, 2)


async def test_a_row_lives_until_its_event_is_a_year_old(settings: Settings, database: Database) -> None:
    async with serving(create_app(settings, database=database)) as client:
        player = new_player()
        _, pair = session_pair(player, now() - timedelta(days=300), minutes=10)

        assert (await client.post("/events", json=pair)).status_code == 200
        # Completion happens on the next read of the player: that writes the listing row.
        assert len((await client.get("/sessions", params={"player_id": player})).json()["sessions"]) == 1

        ttl = await listing_ttl(database, settings.keyspace, player)
        expected = (timedelta(days=365) - timedelta(days=300) + timedelta(minutes=10)).total_seconds()
        assert expected - 60 < ttl <= expected
        # Each archived event row lives until its own event is a year old.
        ttls = await event_ttls(database, settings.keyspace, player)
        start_expected = (timedelta(days=365) - timedelta(days=300)).total_seconds()
        assert set(ttls) == {"start", "end"}
        assert start_expected - 60 < ttls["start"] <= start_expected
        assert expected - 60 < ttls["end"] <= expected
