"""The ingest rules seen through SessionService: outcomes, duplicates and repair."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest

from graphql_service.db import Database
from graphql_service.domain import InvalidInput, validate_batch
from graphql_service.service import SessionService
from graphql_service.settings import Settings

from .events import end, new_player, now, session_pair, start

pytestmark = pytest.mark.anyio


@pytest.fixture
async def service(database: Database, settings: Settings) -> SessionService:
    return await SessionService.create(database, settings)


def counting(service: SessionService) -> Counter[str]:
    seen: Counter[str] = Counter()
    service.observers.append(lambda outcome, count: seen.update({outcome: count}))
    return seen


async def test_outcomes_are_reported_for_new_duplicate_and_expired_events(service: SessionService) -> None:
    seen = counting(service)
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))
    _, old = session_pair(player, now() - timedelta(days=400))

    await service.submit_events(pair)
    await service.submit_events(pair)
    await service.submit_events(old)

    assert seen == Counter(accepted=4, duplicate=2, completed=1, expired=2)


async def test_rejected_batches_are_reported(service: SessionService) -> None:
    seen = counting(service)

    with pytest.raises(InvalidInput):
        await service.submit_events([{"event": "start"}, {"event": "end"}, {}])

    assert seen == Counter(rejected=3)


async def test_a_retry_finishes_a_session_whose_first_delivery_died_half_way(
    service: SessionService,
) -> None:
    # Both halves stored but no completed row: what a crash between the two writes leaves.
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(hours=1)
    pair = [start(player, session, begun), end(player, session, begun + timedelta(minutes=3))]
    for event in validate_batch(pair, now(), timedelta(days=1)):
        await service.repo.write_half(event, 3600)
    assert await service.recent_sessions(player) == []

    await service.submit_events([pair[1]])

    [found] = await service.recent_sessions(player)
    assert found.session_id == session


async def test_the_second_half_completes_without_reading_back(service: SessionService, statements: list[str]) -> None:
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(hours=1)

    await service.submit_events([end(player, session, begun + timedelta(minutes=2))])
    first = Counter(statements)
    statements.clear()
    await service.submit_events([start(player, session, begun)])
    second = Counter(statements)

    # The first half cannot know whether the other is being written right now: it reads back.
    assert first == Counter(read_halves=2, write_end=1)
    # The second half saw the first before writing: complete, no read-back.
    assert second["read_halves"] == 1 and second["write_start"] == 1 and second["write_completed"] == 1


async def test_a_redelivered_batch_writes_nothing_new(service: SessionService, statements: list[str]) -> None:
    _, pair = session_pair(new_player(), now() - timedelta(hours=1))
    await service.submit_events(pair)
    statements.clear()

    await service.submit_events(pair)

    assert "write_start" not in statements and "write_end" not in statements
    assert statements.count("read_halves") == 1
