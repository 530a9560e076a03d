"""A player's history whatever one client sends under one player id: the newest sessions of a
long history on the very first read, and reads bounded in rows (never in tombstones: nothing
is deleted) with an answer that says when it was cut."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable
from datetime import timedelta

import pytest

from graphql_service.core.history import SCAN_MAX_ROWS
from graphql_service.core.service import SessionService
from graphql_service.domain.events import Event, EventKind
from graphql_service.domain.sessions import STATS_MAX_SESSIONS
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database

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


async def test_a_player_with_20000_sessions_gets_the_newest_20_on_the_first_read(
    service: SessionService, statements: list[str]
) -> None:
    player = new_player("long-history")
    began = now() - timedelta(days=20)
    events = []
    for i in range(20_000):
        session, at = uuid.uuid4(), began + timedelta(minutes=i)
        events += [Event(EventKind.START, player, session, at, "FI"), Event(EventKind.END, player, session, at)]
    await store(service, events)
    newest = sorted((e for e in events if e.kind is EventKind.END), key=lambda e: e.ts, reverse=True)[:20]
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
    scanned = statements.count("recent_ends")
    assert scanned <= 5 and statements.count("session_halves") <= SCAN_MAX_ROWS // 100 + scanned
    assert not {"write_start", "write_end", "insert_session_start"} & set(statements)
    rest = await service.sessions_page(player, 20, page.next_cursor)
    assert [s.session_id for s in rest.sessions] == list(reversed(real))
    assert rest.next_cursor is None
