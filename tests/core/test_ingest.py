"""The ingest rules seen through SessionService: outcomes, blind writes, reads that never
write, re-deliveries and retries of a batch that failed half-way.

Ingest writes every event blind; a read finds the winning halves in the session rows and
writes nothing (docs/architecture.md, "The session store")."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest

from graphql_service.core.service import SessionService
from graphql_service.domain.buckets import Level, floor
from graphql_service.domain.errors import InvalidInput
from graphql_service.domain.events import validate_batch
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database
from graphql_service.store.sessions import SessionRepository

from ..events import end, new_player, now, session_pair, start

pytestmark = pytest.mark.anyio

# Statements that write: none of them may run while a player is read.
WRITES = {"write_start", "write_end", "insert_session_start", "mark_start_bucket", "record_minute_shards"}


@pytest.fixture
async def service(database: Database, settings: Settings) -> SessionService:
    return await SessionService.create(database, settings)


@pytest.fixture
async def repo(database: Database, settings: Settings) -> SessionRepository:
    return await SessionRepository.create(database, settings.keyspace)


def counting(service: SessionService) -> Counter[str]:
    seen: Counter[str] = Counter()
    service.observers.append(lambda outcome, count: seen.update({outcome: count}))
    return seen


async def test_outcomes_are_reported_for_accepted_re_sent_and_expired_events(service: SessionService) -> None:
    seen = counting(service)
    player = new_player()
    session, pair = session_pair(player, now() - timedelta(hours=1))
    _, old = session_pair(player, now() - timedelta(days=400))

    await service.submit_events(pair)
    # A re-delivery is accepted again: writing it changes nothing, and nothing can tell it
    # apart without a read.
    await service.submit_events(pair)
    await service.submit_events(old)

    assert seen == Counter(accepted=4, expired=2)
    assert [s.session_id for s in await service.recent_sessions(player)] == [session]


async def test_an_end_before_its_start_across_batches_is_never_listed(service: SessionService) -> None:
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(hours=1)

    await service.submit_events([start(player, session, begun)])
    await service.submit_events([end(player, session, begun - timedelta(minutes=1))])

    assert await service.recent_sessions(player) == []
    assert (await service.player_stats(player)).completed_sessions == 0


async def test_rejected_batches_are_reported(service: SessionService) -> None:
    seen = counting(service)

    with pytest.raises(InvalidInput):
        await service.submit_events([{"event": "start"}, {"event": "end"}, {}])

    assert seen == Counter(rejected=3)


async def test_ingest_writes_blind_and_a_read_writes_nothing(service: SessionService, statements: list[str]) -> None:
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(hours=1)

    await service.submit_events([end(player, session, begun + timedelta(minutes=2))])
    first = Counter(statements)
    statements.clear()
    await service.submit_events([start(player, session, begun)])
    second = Counter(statements)
    statements.clear()
    [found] = await service.recent_sessions(player)
    read = Counter(statements)
    statements.clear()
    await service.player_stats(player)
    stats = Counter(statements)

    assert found.session_id == session
    # An end is one single-partition batch (its index row and its session's end cell); no
    # read of the session's other half.
    assert first == Counter(write_end=1)
    # A start is its session row's start cells and its per-country row. Its minute, hour
    # and day are marked as changed, unless an earlier mark of this process still covers
    # them; the first mark of a minute also records its shard count, and a day's mark logs
    # the day for the settlers (core/settling.py).
    marks = second.pop("mark_start_bucket", 0)
    shard_counts = second.pop("record_minute_shards", 0)
    logged_days = second.pop("mark_changed_start_day", 0)
    assert second == Counter(write_start=1, insert_session_start=1)
    assert marks <= 3 and shard_counts <= 1 and logged_days <= 1
    # The first read after play: the newest index rows, then the sessions they name. Nothing
    # is written, folded or repaired.
    assert read == Counter(recent_ends=1, session_halves=1)
    assert stats == Counter(player_sessions=1)


async def test_the_last_twenty_of_a_busy_player_are_two_reads(service: SessionService, statements: list[str]) -> None:
    player = new_player()
    began = now() - timedelta(hours=5)
    events = []
    for i in range(60):
        _, pair = session_pair(player, began + timedelta(minutes=4 * i), minutes=3)
        events += pair
    for i in range(0, len(events), 10):
        await service.submit_events(events[i : i + 10])
    statements.clear()

    sessions = await service.recent_sessions(player, 20)

    assert len(sessions) == 20
    assert [s.end_ts for s in sessions] == sorted((s.end_ts for s in sessions), reverse=True)
    assert Counter(statements) == Counter(recent_ends=1, session_halves=1)


async def test_a_redelivered_batch_stores_nothing_new(
    service: SessionService, database: Database, settings: Settings
) -> None:
    player = new_player()
    session, pair = session_pair(player, now() - timedelta(hours=1))
    await service.submit_events(pair)
    [listed] = await service.recent_sessions(player)

    async def rows() -> tuple[list[dict[str, object]], ...]:
        ks = settings.keyspace
        starts = await database.execute_schema(
            f"SELECT * FROM {ks}.session_starts_by_minute WHERE player_id = ? ALLOW FILTERING", (player,)
        )
        return (
            await database.execute_schema(f"SELECT * FROM {ks}.sessions_by_player WHERE player_id = ?", (player,)),
            # When the start row was last written is not part of what is stored about it.
            [{k: v for k, v in row.items() if k != "received_at"} for row in starts],
        )

    before = await rows()
    await service.submit_events(pair)

    assert await rows() == before
    assert await service.recent_sessions(player) == [listed]
    assert listed.session_id == session


async def test_a_batch_retried_after_failing_half_way_is_stored_once(
    service: SessionService, repo: SessionRepository
) -> None:
    # A 503 may come after some of a batch's writes landed: here the start's session row
    # did, its per-country row and the end did not. The client retries the whole batch.
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(minutes=50)
    pair = [start(player, session, begun, "QL"), end(player, session, begun + timedelta(minutes=3))]
    [first, _] = validate_batch(pair, now(), timedelta(days=1))
    await repo.write_start(first, 3600, floor(Level.MINUTE, first.ts))
    assert await service.recent_sessions(player) == []

    await service.submit_events(pair)
    await service.submit_events(pair)

    [found] = await service.recent_sessions(player)
    assert (found.session_id, found.start_ts, found.country) == (session, first.ts, "QL")
    report = await service.session_starts(2)
    assert [(c.country, c.session_starts) for c in report.countries if c.country == "QL"] == [("QL", 1)]
