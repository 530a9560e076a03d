"""A player's history whatever one client sends under one player id: the newest sessions of a
long history on the very first read, and reads bounded in rows (never in tombstones: nothing
is deleted) with an answer that says when it was cut."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import pytest

from graphql_service.core.history import SCAN_MAX_ROWS
from graphql_service.core.service import SessionService
from graphql_service.domain.events import Event, EventKind
from graphql_service.domain.sessions import STATS_MAX_SESSIONS
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database
from graphql_service.store.sessions import SESSION_ROW

from ..events import new_player, now

pytestmark = pytest.mark.anyio


@pytest.fixture
async def service(database: Database, settings: Settings) -> SessionService:
    return await SessionService.create(database, settings)


async def store(service: SessionService, events: list[Event]) -> None:
    """`events` through ingest's own writes, many at once (faster than 10-event batches)."""
    gate = asyncio.Semaphore(256)

    async def one(write: Awaitable[None]) -> None:
        async with gate:
            await write

    await asyncio.gather(*(one(w) for w in service.ingest.writes([(e, 86_400) for e in events], now())))


async def write_history(database: Database, keyspace: str, player: str, sessions: list[Event]) -> None:
    """Complete sessions (start, end) as the store holds them, in single-partition batches:
    20,000 through ingest would take the suite most of a minute, for rows the ingest tests
    already show are written so."""
    table = f"{keyspace}.sessions_by_player"
    cells = await database.prepare(
        "test_session_row",
        f"UPDATE {table} USING TTL 86400 SET start_ts = ?, country = ?, last_end = ? "
        "WHERE player_id = ? AND end_ts = ? AND session_id = ?",
        write=True,
    )
    index = await database.prepare(
        "test_end_row",
        f"INSERT INTO {table} (player_id, end_ts, session_id) VALUES (?, ?, ?) USING TTL 86400",
        write=True,
    )
    statements = []
    for start in sessions:
        end_ts = start.ts + timedelta(seconds=10)
        statements.append((cells, (start.ts, start.country, end_ts, player, SESSION_ROW, start.session_id)))
        statements.append((index, (player, end_ts, start.session_id)))
    gate = asyncio.Semaphore(32)

    async def batch(chunk: list[Any]) -> None:
        async with gate:
            await database.execute_batch("test_history", chunk)

    await asyncio.gather(*(batch(statements[i : i + 40]) for i in range(0, len(statements), 40)))


async def test_a_player_with_20000_sessions_gets_the_newest_20_on_the_first_read(
    service: SessionService, database: Database, settings: Settings, statements: list[str]
) -> None:
    player = new_player("long-history")
    began = now() - timedelta(days=20)
    starts = [
        Event(EventKind.START, player, uuid.uuid4(), began + timedelta(seconds=20 * i), "FI") for i in range(20_000)
    ]
    await write_history(database, settings.keyspace, player, starts)
    newest = sorted(starts, key=lambda e: e.ts, reverse=True)[:20]
    statements.clear()

    first = await service.recent_sessions(player, 20)

    assert [s.session_id for s in first] == [e.session_id for e in newest]
    assert Counter(statements) == Counter(recent_ends=1, session_halves=1)
    stats = await service.player_stats(player)
    assert (stats.completed_sessions, stats.truncated) == (STATS_MAX_SESSIONS, True)


async def test_a_flood_of_ends_with_no_start_cuts_the_read_and_says_where(
    service: SessionService, statements: list[str]
) -> None:
    player = new_player("flooded")
    began = now() - timedelta(hours=6)
    real = [uuid.uuid4() for _ in range(3)]
    events = []
    for i, session in enumerate(real):
        events += [
            Event(EventKind.START, player, session, began + timedelta(minutes=i)),
            Event(EventKind.END, player, session, began + timedelta(minutes=i, seconds=30)),
        ]
    # Newer than every real session: ends nobody will ever start, more than one read scans.
    flood = [
        Event(EventKind.END, player, uuid.uuid4(), began + timedelta(hours=1, milliseconds=i))
        for i in range(SCAN_MAX_ROWS + 500)
    ]
    await store(service, events + flood)
    statements.clear()

    page = await service.sessions_page(player, 20)

    assert page.sessions == [] and page.next_cursor is not None
    # Rounds of index rows, each 4x the last, then the sessions they name, 100 to an IN.
    rounds = statements.count("recent_ends") + statements.count("ends_before")
    assert rounds <= 5 and statements.count("session_halves") <= SCAN_MAX_ROWS // 100 + rounds
    assert not {"write_start", "write_end", "insert_session_start"} & set(statements)
    rest = await service.sessions_page(player, 20, page.next_cursor)
    assert [s.session_id for s in rest.sessions] == list(reversed(real))
    assert rest.next_cursor is None
