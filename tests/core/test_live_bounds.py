"""What polling may cost, whatever subscribes (core/live.py): a bounded number of distinct
feeds and a bounded number of reads in flight, and nothing kept once the subscribers leave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from graphql_service.core.live import Feeds
from graphql_service.domain.errors import CapacityReached

pytestmark = pytest.mark.anyio


class SlowSource:
    """Reads that wait until released, counting how many run at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most_in_flight = 0
        self.reads = 0
        self.release = asyncio.Event()

    def fetch_for(self, key: int) -> object:
        async def fetch() -> int:
            self.reads += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            await self.release.wait()
            self.in_flight -= 1
            return key

        return fetch


async def test_reads_in_flight_are_bounded_however_many_distinct_feeds() -> None:
    feeds, source = Feeds(interval_seconds=3600, max_feeds=100, max_reads_in_flight=4), SlowSource()
    watchers: list[AsyncGenerator[object, None]] = [feeds.watch(k, source.fetch_for(k)) for k in range(100)]
    firsts = [asyncio.ensure_future(w.__anext__()) for w in watchers]
    await asyncio.sleep(0.05)

    assert source.most_in_flight == 4  # 100 new feeds, each read at once, 4 at a time
    source.release.set()
    assert sorted(await asyncio.gather(*firsts)) == list(range(100))  # type: ignore[type-var]
    assert source.reads == 100
    for w in watchers:
        await w.aclose()
    assert feeds.pollers == 0


async def test_a_feed_beyond_the_bound_is_refused_until_one_ends() -> None:
    feeds, source = Feeds(interval_seconds=3600, max_feeds=2), SlowSource()
    source.release.set()
    one, two = feeds.watch(1, source.fetch_for(1)), feeds.watch(2, source.fetch_for(2))
    again = feeds.watch(1, source.fetch_for(1))  # the same thing shares its feed
    assert (await one.__anext__(), await two.__anext__(), await again.__anext__()) == (1, 2, 1)

    with pytest.raises(CapacityReached):
        await feeds.watch(3, source.fetch_for(3)).__anext__()
    await two.aclose()
    three = feeds.watch(3, source.fetch_for(3))
    assert await three.__anext__() == 3
    for w in (one, again, three):
        await w.aclose()
    assert feeds.pollers == 0
