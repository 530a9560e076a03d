"""Live updates by polling the database: one feed per distinct watched thing per process, all
read by one scheduler, at a bounded cost.

Every server process pushes what Cassandra says, not what it saw itself, so a write taken
by another process reaches this one's subscribers too. Subscribers of the same thing (same
query, same arguments) share one feed: a thousand of them cost one read per interval. Distinct
things are bounded too: at most `max_feeds` per process (one more is refused with
CapacityReached until one ends), read once per round by one scheduler task with at most
`max_reads_in_flight` reads at a time, so polling never holds more than that many of the
process's statements however many subscribe. A round starts every `interval_seconds`, or as
soon as the last one ends if it took longer: each feed is read at most once per interval.

A new feed is read at once (its first subscriber gets a value without waiting for a round).
A feed pushes only a change, and is dropped with everything it holds when its last
subscriber leaves; the scheduler stops with the last feed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..domain.errors import CapacityReached, StorageUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_FEEDS = 500
MAX_READS_IN_FLIGHT = 8


@dataclass(eq=False)
class _Feed:
    fetch: Callable[[], Awaitable[Any]]
    subscribers: set[asyncio.Queue[Any]] = field(default_factory=set)
    latest: list[Any] = field(default_factory=list)  # empty until the first read
    reading: bool = False
    first_read: asyncio.Task[None] | None = None


class Feeds:
    def __init__(
        self,
        interval_seconds: float,
        *,
        max_feeds: int = MAX_FEEDS,
        max_reads_in_flight: int = MAX_READS_IN_FLIGHT,
    ) -> None:
        self.interval_seconds = interval_seconds
        self.max_feeds = max_feeds
        self.max_reads_in_flight = max_reads_in_flight
        self._feeds: dict[Hashable, _Feed] = {}
        self._reads = asyncio.Semaphore(max_reads_in_flight)
        self._scheduler: asyncio.Task[None] | None = None

    @property
    def pollers(self) -> int:
        """Distinct things watched (feeds), each read once per round."""
        return len(self._feeds)

    async def watch(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> AsyncGenerator[T, None]:
        """The current value of `fetch()` at once, then each change of it. `key` names what
        is fetched (a query and its checked arguments): equal keys share one feed."""
        feed = self._feeds.get(key)
        if feed is None:
            if len(self._feeds) >= self.max_feeds:
                raise CapacityReached(
                    f"this server already watches {self.max_feeds} distinct subscriptions "
                    "(SUBSCRIPTION_MAX_FEEDS); retry later"
                )
            feed = self._feeds[key] = _Feed(fetch)
            feed.first_read = asyncio.create_task(self._read(feed), name=f"live feed {key!r}")
            if self._scheduler is None or self._scheduler.done():
                self._scheduler = asyncio.create_task(self._rounds(), name="live feeds")
        # One slot: a subscriber slower than the changes gets the newest value, not a backlog.
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)
        feed.subscribers.add(queue)
        if feed.latest:
            queue.put_nowait(feed.latest[0])
        try:
            while True:
                yield await queue.get()
        finally:
            feed.subscribers.discard(queue)
            if not feed.subscribers and self._feeds.get(key) is feed:
                del self._feeds[key]
                if feed.first_read is not None:
                    feed.first_read.cancel()
                if not self._feeds and self._scheduler is not None:
                    self._scheduler.cancel()
                    self._scheduler = None

    async def _rounds(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.interval_seconds  # the new feed was just read
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            # Rounds start an interval apart; one longer than that delays the next.
            due = loop.time() + self.interval_seconds
            feeds = iter(list(self._feeds.values()))
            await asyncio.gather(*(self._read_each(feeds) for _ in range(self.max_reads_in_flight)))

    async def _read_each(self, feeds: Iterator[_Feed]) -> None:
        # Workers share one iterator: each feed of the round is read once, by whichever is free.
        for feed in feeds:
            if feed.subscribers and not feed.reading:
                await self._read(feed)

    async def _read(self, feed: _Feed) -> None:
        feed.reading = True
        try:
            async with self._reads:
                value = await feed.fetch()
        except StorageUnavailable as exc:
            # Subscribers keep the last value; the next round tries again.
            log.warning("live update read failed, retrying: %s", exc)
            return
        except Exception:
            log.exception("live update read failed")
            return
        finally:
            feed.reading = False
        if not feed.latest or feed.latest[0] != value:
            feed.latest[:] = [value]
            for queue in feed.subscribers:
                _offer(queue, value)


def _offer(queue: asyncio.Queue[Any], value: object) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(value)
