"""Live updates by polling the database: one poller per distinct watched thing per process.

Every server process pushes what Cassandra says, not what it saw itself, so a write taken
by another process reaches this one's subscribers too. Subscribers of the same thing (same
query, same arguments) share one poller: a thousand of them cost one read per interval.
A poller reads, compares with what it last pushed, and pushes only a change; it stops when
its last subscriber leaves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..domain.errors import StorageUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Feed:
    fetch: Callable[[], Awaitable[Any]]
    subscribers: set[asyncio.Queue[Any]] = field(default_factory=set)
    latest: list[Any] = field(default_factory=list)  # empty until the first read
    task: asyncio.Task[None] | None = None


class Feeds:
    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self._feeds: dict[Hashable, _Feed] = {}

    @property
    def pollers(self) -> int:
        return len(self._feeds)

    async def watch(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> AsyncGenerator[T, None]:
        """The current value of `fetch()` at once, then each change of it. `key` names what
        is fetched (a query and its checked arguments): equal keys share one poller."""
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = _Feed(fetch)
            feed.task = asyncio.create_task(self._poll(feed), name=f"live feed {key!r}")
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
                if feed.task is not None:
                    feed.task.cancel()

    async def _poll(self, feed: _Feed) -> None:
        while True:
            try:
                value = await feed.fetch()
            except StorageUnavailable as exc:
                # Subscribers keep the last value; the next round tries again.
                log.warning("live update read failed, retrying: %s", exc)
            except Exception:
                log.exception("live update read failed")
            else:
                if not feed.latest or feed.latest[0] != value:
                    feed.latest[:] = [value]
                    for queue in feed.subscribers:
                        _offer(queue, value)
            await asyncio.sleep(self.interval_seconds)


def _offer(queue: asyncio.Queue[Any], value: object) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(value)
