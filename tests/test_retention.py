"""Retention by event time: rows carry TTLs and really disappear from Cassandra."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from graphql_service.app import create_app
from graphql_service.db import Database
from graphql_service.settings import Settings

from .conftest import serving
from .events import end, new_player, now, session_pair, start

pytestmark = pytest.mark.anyio


def stored_rows(database: Database, keyspace: str, player: str) -> tuple[int, int]:
    completed = database.execute_sync(
        f"SELECT session_id FROM {keyspace}.completed_sessions_by_player WHERE player_id = %s", (player,)
    )
    halves = database.execute_sync(
        f"SELECT session_id FROM {keyspace}.session_halves_by_id WHERE player_id = %s ALLOW FILTERING", (player,)
    )
    return len(completed), len(halves)


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
        assert stored_rows(database, short.keyspace, player) == (1, 1)

        for _ in range(30):  # wait (bounded) for Cassandra to expire the cells
            if stored_rows(database, short.keyspace, player) == (0, 0):
                break
            await asyncio.sleep(0.5)

        assert stored_rows(database, short.keyspace, player) == (0, 0)
        assert (await client.get("/sessions", params={"player_id": player})).json()["sessions"] == []


async def test_events_older_than_retention_are_not_stored_but_still_succeed(
    settings: Settings, database: Database
) -> None:
    async with serving(create_app(settings, database=database)) as http:
        player = new_player()
        _, pair = session_pair(player, now() - timedelta(days=366))

        response = await http.post("/events", json=pair)

        assert response.text == "POST success"
        assert stored_rows(database, settings.keyspace, player) == (0, 0)


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
        ttl = database.execute_sync(
            f"SELECT TTL(start_ts) AS ttl FROM {replay.keyspace}.completed_sessions_by_player WHERE player_id = %s",
            (player,),
        )[0]["ttl"]
        assert replay.retention_seconds - 60 < ttl <= replay.retention_seconds


async def test_a_row_lives_until_its_event_is_a_year_old(settings: Settings, database: Database) -> None:
    async with serving(create_app(settings, database=database)) as client:
        player = new_player()
        _, pair = session_pair(player, now() - timedelta(days=300), minutes=10)

        await client.post("/events", json=pair)

        ttl = database.execute_sync(
            f"SELECT TTL(start_ts) AS ttl FROM {settings.keyspace}.completed_sessions_by_player WHERE player_id = %s",
            (player,),
        )[0]["ttl"]
        expected = (timedelta(days=365) - timedelta(days=300) + timedelta(minutes=10)).total_seconds()
        assert expected - 60 < ttl <= expected
