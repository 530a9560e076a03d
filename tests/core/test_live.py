"""The pollers behind subscriptions (core/live.py), with a plain async function as what is
watched: the storage side is covered by tests/api/test_subscriptions.py on the real node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

import pytest

from graphql_service.core.live import Feeds
from graphql_service.domain.errors import StorageUnavailable

pytestmark = pytest.mark.anyio


class Source:
    """A value that changes when told to, and how often it was read."""

    def __init__(self, value: object = 0) -> None:
        self.value = value
        self.reads = 0
        self.read = asyncio.Event()
        self.fail_next = False

    async def fetch(self) -> object:
        self.reads += 1
        self.read.set()
        if self.fail_next:
            self.fail_next = False
            raise StorageUnavailable("down for a moment")
        return self.value

    async def next_read(self) -> None:
        self.read.clear()
        await self.read.wait()


async def test_a_thousand_subscribers_of_one_key_cost_one_read() -> None:
    feeds, source = Feeds(interval_seconds=3600), Source("now")
    watchers = [feeds.watch("k", source.fetch) for _ in range(1000)]

    firsts = await asyncio.gather(*(w.__anext__() for w in watchers))

    assert set(firsts) == {"now"}
    assert source.reads == 1
    assert feeds.pollers == 1
    for w in watchers:
        await w.aclose()
    assert feeds.pollers == 0


async def test_only_changes_are_pushed() -> None:
    feeds, source = Feeds(interval_seconds=0), Source(1)
    async with aclosing(feeds.watch("k", source.fetch)) as updates:
        assert await updates.__anext__() == 1
        for _ in range(3):  # reads that find the same value push nothing
            await source.next_read()
        source.value = 2
        assert await updates.__anext__() == 2


async def test_a_late_subscriber_gets_the_last_value_at_once() -> None:
    feeds, source = Feeds(interval_seconds=3600), Source("first")
    async with aclosing(feeds.watch("k", source.fetch)) as early:
        await early.__anext__()
        source.value = "not read yet"
        async with aclosing(feeds.watch("k", source.fetch)) as late:
            assert await late.__anext__() == "first"
    assert source.reads == 1


async def test_a_slow_subscriber_gets_the_newest_value_not_a_backlog() -> None:
    feeds, source = Feeds(interval_seconds=0), Source(0)
    async with aclosing(feeds.watch("k", source.fetch)) as updates:
        assert await updates.__anext__() == 0
        for value in (1, 2, 3):
            source.value = value
            await source.next_read()
            await source.next_read()  # the read after the change has been pushed
        assert await updates.__anext__() == 3


async def test_a_failed_read_keeps_the_last_value_and_polling_goes_on() -> None:
    feeds, source = Feeds(interval_seconds=0), Source("a")
    async with aclosing(feeds.watch("k", source.fetch)) as updates:
        assert await updates.__anext__() == "a"
        source.fail_next = True
        await source.next_read()
        source.value = "b"
        assert await updates.__anext__() == "b"


async def test_different_keys_have_their_own_pollers() -> None:
    feeds, one, two = Feeds(interval_seconds=3600), Source(1), Source(2)
    a: AsyncGenerator[object, None] = feeds.watch(("q", 1), one.fetch)
    b: AsyncGenerator[object, None] = feeds.watch(("q", 2), two.fetch)

    assert (await a.__anext__(), await b.__anext__()) == (1, 2)
    assert feeds.pollers == 2
    await a.aclose()
    await b.aclose()
    assert feeds.pollers == 0
