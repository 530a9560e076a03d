"""Rollups ahead of the question: settling changed per-country start buckets in the
background and before `import` exits, against the real node.

Counts are global per keyspace, so these tests run in a keyspace of their own, and the
test that counts statements runs first in it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from graphql_service.app import create_app
from graphql_service.core.service import SessionService
from graphql_service.core.settling import Settler, settle_after_writes
from graphql_service.core.starts import STALE_MARGIN, SessionStarts, is_quiet, is_stale
from graphql_service.domain.buckets import Bucket, Level, floor
from graphql_service.domain.events import utc_now
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database
from graphql_service.store.starts import BucketState, SessionStartsRepository

from .. import keyspaces
from ..events import new_player, start
from ..servers import serving

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def own_keyspace(settings: Settings, database: Database) -> AsyncIterator[Settings]:
    async with keyspaces.own_keyspace(database, settings, "settle") as own:
        yield own


@pytest.fixture
async def service(own_keyspace: Settings, database: Database) -> SessionService:
    return await SessionService.create(database, own_keyspace)


async def submit_starts(service: SessionService, starts: list[tuple[datetime, str]]) -> None:
    events = [start(new_player("settle"), uuid.uuid4(), at, country) for at, country in starts]
    for i in range(0, len(events), 10):
        await service.submit_events(events[i : i + 10])


def late_starts(country: str, count: int, hours_ago: float, spread_hours: float) -> list[tuple[datetime, str]]:
    at = utc_now().replace(microsecond=0) - timedelta(hours=hours_ago)
    return [(at - timedelta(hours=spread_hours * i / count), country) for i in range(count)]


async def stored_day_counts(database: Database, settings: Settings, day: datetime) -> dict[str, int]:
    repo = await SessionStartsRepository.create(database, settings.keyspace)
    bucket = Bucket(Level.DAY, day)
    rows = await repo.counts(Level.DAY.value, bucket.partition, bucket.start, bucket.end)
    return {country: starts for _, country, starts in rows if starts}


async def test_late_starts_settled_after_the_writes_are_counted_without_a_recount(
    service: SessionService, statements: list[str]
) -> None:
    began = utc_now()
    await submit_starts(service, late_starts("SA", 30, hours_ago=2, spread_hours=20))
    await submit_starts(service, late_starts("SB", 12, hours_ago=1, spread_hours=30))

    settled = await settle_after_writes(service.starts, began)
    statements.clear()
    report = await service.session_starts(48)

    assert settled > 42  # every touched minute, its hours and days
    assert {c.country: c.session_starts for c in report.countries} == {"SA": 30, "SB": 12}
    # Every bucket was counted ahead of the question: the query reads stored counts only.
    assert "read_minute_starts" not in statements
    assert "write_start_count" not in statements


async def test_two_settlers_at_once_write_the_same_totals(
    service: SessionService, own_keyspace: Settings, database: Database
) -> None:
    day = floor(Level.DAY, utc_now()) - timedelta(days=3)
    at = day + timedelta(hours=5)
    await submit_starts(service, [(at + timedelta(minutes=i), "TA" if i % 3 else "TB") for i in range(45)])
    other = await SessionService.create(database, own_keyspace)
    later = utc_now() + STALE_MARGIN * 3  # as if the writes were long quiet

    recounted = await asyncio.gather(
        service.starts.settle([day], later), other.starts.settle([day], later), other.starts.settle([day], later)
    )

    assert all(n > 0 for n in recounted)
    assert await stored_day_counts(database, own_keyspace, day) == {"TA": 30, "TB": 15}
    # Settling again changes nothing: the totals are absolute, never increments.
    await service.starts.settle([day], later + timedelta(seconds=1))
    assert await stored_day_counts(database, own_keyspace, day) == {"TA": 30, "TB": 15}


async def test_the_settler_finds_the_changed_days_in_the_change_log(
    service: SessionService, own_keyspace: Settings, database: Database
) -> None:
    day = floor(Level.DAY, utc_now()) - timedelta(days=5)
    await submit_starts(service, [(day + timedelta(hours=h), "UA") for h in range(0, 24, 3)])
    settler = Settler(service.starts, interval_seconds=1)

    recounted = await settler.run_once(utc_now() + STALE_MARGIN * 3)

    assert recounted >= 8 + 8 + 1  # 8 minutes, their 8 hours and the day
    assert await stored_day_counts(database, own_keyspace, day) == {"UA": 8}


async def test_every_server_process_settles_changed_buckets_in_the_background(
    own_keyspace: Settings, database: Database
) -> None:
    app = create_app(own_keyspace.with_overrides(settle_interval_seconds=1), database=database)
    day = floor(Level.DAY, utc_now()) - timedelta(days=7)
    events = [start(new_player("bg"), uuid.uuid4(), day + timedelta(hours=h), "VA") for h in range(6)]
    repo = await SessionStartsRepository.create(database, own_keyspace.keyspace)
    bucket = Bucket(Level.DAY, day)

    async with serving(app) as client:
        assert (await client.post("/events", json=events)).status_code == 200
        # Quiet after STALE_MARGIN and a little; the settler runs every second. The deadline
        # only bounds a broken run: a healthy one is done within seconds.
        for _ in range(120):
            state = await repo.state(Level.DAY.value, bucket.partition, day)
            if state is not None and not is_stale(state):
                break
            await asyncio.sleep(0.5)

    assert state is not None and not is_stale(state)
    assert await stored_day_counts(database, own_keyspace, day) == {"VA": 6}


async def test_starts_written_with_different_shard_counts_are_all_counted_once(
    own_keyspace: Settings, database: Database
) -> None:
    narrow = await SessionService.create(database, own_keyspace.with_overrides(start_shards=8))
    wide = await SessionService.create(database, own_keyspace.with_overrides(start_shards=64))
    at = floor(Level.MINUTE, utc_now()) - timedelta(days=9)
    player, session = new_player("shards"), uuid.uuid4()
    for i in range(40):
        await (narrow if i % 2 else wide).submit_events([start(new_player(), uuid.uuid4(), at, "WA")])
    # The loser is written over 64 shards, the winner, three minutes on, over 8: the
    # recount still finds the one and drops it.
    await wide.submit_events([start(player, session, at, "WB")])
    await narrow.submit_events([start(player, session, at + timedelta(minutes=3), "WB")])
    day = floor(Level.DAY, at)
    await narrow.starts.settle([day], utc_now() + STALE_MARGIN * 3)

    assert await stored_day_counts(database, own_keyspace, day) == {"WA": 40, "WB": 1}


def test_a_shard_count_must_be_a_power_of_two_from_8() -> None:
    with pytest.raises(ValueError, match="power of two"):
        SessionStarts(None, None, lambda t, now: None, shards=12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="from 8"):
        SessionStarts(None, None, lambda t, now: None, shards=4)  # type: ignore[arg-type]


def test_the_settler_leaves_buckets_written_in_the_last_seconds_to_the_queries() -> None:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)

    assert is_quiet(BucketState(now - STALE_MARGIN, None), now)
    assert not is_quiet(BucketState(now - STALE_MARGIN + timedelta(milliseconds=1), None), now)
    assert not is_quiet(BucketState(None, None), now)
