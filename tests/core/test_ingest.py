"""The ingest rules seen through SessionService: outcomes, duplicates and repair.

Ingest writes every event blind (pending); the next read of the player folds the pending
events into the listing. So `accepted`, `rejected` and `expired` are counted when events
are submitted, while `completed`, `duplicate` and `invalid_session` are counted by the
read that folds them."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest

from graphql_service.core.service import SessionService
from graphql_service.domain.errors import InvalidInput
from graphql_service.domain.events import validate_batch
from graphql_service.domain.sessions import Session, StoredEvent
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database
from graphql_service.store.sessions import Life, SessionRepository

from ..events import end, new_player, now, session_pair, start

pytestmark = pytest.mark.anyio


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


async def test_outcomes_are_reported_for_new_duplicate_and_expired_events(service: SessionService) -> None:
    seen = counting(service)
    player = new_player()
    session, pair = session_pair(player, now() - timedelta(hours=1))
    _, old = session_pair(player, now() - timedelta(days=400))

    await service.submit_events(pair)
    # Re-sent before any read: the same two pending rows are written again, which is not
    # a duplicate (nothing was folded yet), and nothing completes until the player is read.
    await service.submit_events(pair)
    assert seen == Counter(accepted=4)

    assert [s.session_id for s in await service.recent_sessions(player)] == [session]
    assert seen == Counter(accepted=4, completed=1)

    # `duplicate` now means: an event variant that had already been folded before, counted
    # by the read that folds it again. Re-sent after the read, both events are duplicates.
    await service.submit_events(pair)
    await service.submit_events(old)
    assert seen == Counter(accepted=6, completed=1, expired=2)

    assert [s.session_id for s in await service.recent_sessions(player)] == [session]
    assert seen == Counter(accepted=6, completed=1, duplicate=2, expired=2)


async def test_an_end_before_its_start_across_batches_is_counted_invalid_when_read(service: SessionService) -> None:
    seen = counting(service)
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(hours=1)

    await service.submit_events([start(player, session, begun)])
    await service.submit_events([end(player, session, begun - timedelta(minutes=1))])

    assert await service.recent_sessions(player) == []
    assert seen == Counter(accepted=2, invalid_session=1)


async def test_rejected_batches_are_reported(service: SessionService) -> None:
    seen = counting(service)

    with pytest.raises(InvalidInput):
        await service.submit_events([{"event": "start"}, {"event": "end"}, {}])

    assert seen == Counter(rejected=3)


@pytest.mark.parametrize("died_after", ["writing the events", "listing", "archiving"])
async def test_a_read_finishes_a_fold_that_died_half_way(
    service: SessionService, repo: SessionRepository, died_after: str
) -> None:
    # A fold writes the listing, then archives the events, then releases their pending
    # rows. A process that dies in between leaves the events pending; the next read repeats
    # the fold, and a retry of the events changes nothing.
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(hours=1)
    pair = [start(player, session, begun), end(player, session, begun + timedelta(minutes=3))]
    received = now()
    events = validate_batch(pair, received, timedelta(days=1))
    for event in events:
        await repo.write_event(event, 3600, received)
    stored = {StoredEvent(e.session_id, e.kind, e.ts, e.country or "") for e in events}
    if died_after in ("listing", "archiving"):
        listed = Session(session, player, "FI", events[0].ts, events[1].ts)
        await repo.write_listings(player, [(listed, 3600)], [])
    if died_after == "archiving":
        await repo.archive(player, [(e, Life(received, 3600)) for e in stored])

    [found] = await service.recent_sessions(player)

    assert (found.session_id, found.start_ts, found.end_ts) == (session, events[0].ts, events[1].ts)
    assert not await repo.pending_events(player)
    assert set(await repo.archived_events(player, [session])) == stored

    await service.submit_events([pair[1]])

    assert await service.recent_sessions(player) == [found]
    assert not await repo.pending_events(player)


async def test_ingest_writes_blind_and_the_next_read_completes(service: SessionService, statements: list[str]) -> None:
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
    await service.recent_sessions(player)
    read_again = Counter(statements)

    assert found.session_id == session
    # An end is one blind write: no read of the session's other half.
    assert first == Counter(write_event=1)
    # A start is also counted per country: its row, plus a read of the start's variants so
    # a start re-sent with another time or country counts once. Its minute, hour and day
    # are marked as changed, unless an earlier mark of this process still covers them; the
    # first mark of a minute also records its shard count, and a day's mark logs the day
    # for the settlers (core/settling.py).
    marks = second.pop("mark_start_bucket", 0)
    shard_counts = second.pop("record_minute_shards", 0)
    logged_days = second.pop("mark_changed_start_day", 0)
    assert second == Counter(write_event=1, insert_session_start=1)
    assert marks <= 3 and shard_counts <= 1 and logged_days <= 1
    # The read folds the two pending events: one listing row, the events archived and
    # released (two statements each: an unlogged batch), then the listing is read.
    assert read == Counter(
        read_pending_events=1,
        recent_sessions=1,
        read_archived_events=1,
        list_session=1,
        fold_archive=1,
        fold_release=1,
    )
    # Nothing pending any more: the listing alone answers.
    assert read_again == Counter(read_pending_events=1, recent_sessions=1)


async def test_a_redelivered_batch_stores_nothing_new(
    service: SessionService, database: Database, settings: Settings
) -> None:
    player = new_player()
    session, pair = session_pair(player, now() - timedelta(hours=1))
    await service.submit_events(pair)
    [listed] = await service.recent_sessions(player)

    async def rows() -> tuple[list[dict[str, object]], ...]:
        ks = settings.keyspace
        return (
            await database.execute_schema(
                f"SELECT * FROM {ks}.session_events_by_player WHERE player_id = ? AND folded IN (false, true)",
                (player,),
            ),
            await database.execute_schema(
                f"SELECT * FROM {ks}.completed_sessions_by_player WHERE player_id = ?", (player,)
            ),
            await database.execute_schema(
                f"SELECT * FROM {ks}.session_starts_by_minute WHERE player_id = ? ALLOW FILTERING", (player,)
            ),
        )

    before = await rows()
    seen = counting(service)

    await service.submit_events(pair)
    # Before the read, the re-delivered events wait as pending rows...
    assert len((await rows())[0]) == len(before[0]) + 2
    assert await service.recent_sessions(player) == [listed]

    # ...which the read recognises as already folded: released, and nothing else changes.
    assert await rows() == before
    assert seen == Counter(accepted=2, duplicate=2)
    assert listed.session_id == session
