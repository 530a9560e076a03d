"""Session starts per country over the last X hours: exact, idempotent, and at a cost that
grows with X and the number of countries rather than with the number of sessions.
How the minute rows, bucket marks and recounts fit together: docs/architecture.md.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from ..domain.buckets import Bucket, Level, buckets_of, children, decompose, floor, window
from ..domain.events import Event, utc_now
from ..domain.sessions import StoredEvent, version, winner
from ..store.starts import BucketState, SessionStartsRepository

SHARDS = 8
MARK_AHEAD = timedelta(seconds=2)
STALE_MARGIN = timedelta(seconds=5)
# Statements one process keeps in flight for recounts: a window full of changed buckets
# (after a backfill of late starts) is recounted in bounded bites, not all at once.
RECOUNT_CONCURRENCY = 32
T = TypeVar("T")

# (t, now) -> the TTL of a row about time t, or None when t is already past retention.
TimeToLive = Callable[[datetime, datetime], int | None]


def is_stale(state: BucketState) -> bool:
    if state.counted_at is None or state.last_write is None:
        return True
    return state.last_write > state.counted_at - STALE_MARGIN


def shard_of(session_id: UUID, shards: int = SHARDS) -> int:
    return session_id.int % shards


class SessionStarts:
    def __init__(self, repo: SessionStartsRepository, time_to_live: TimeToLive, *, shards: int = SHARDS) -> None:
        self._repo = repo
        self._ttl_for = time_to_live
        self._shards = shards
        self._marked_until: dict[Bucket, datetime] = {}
        self._buckets_of_minute: dict[datetime, list[Bucket]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate = asyncio.Semaphore(RECOUNT_CONCURRENCY)
        self._inflight: dict[Bucket, asyncio.Future[None]] = {}

    async def record(self, event: Event, now: datetime | None = None, ttl: int | None = None) -> None:
        """Store one start event (idempotent) and mark its buckets as changed. `ttl`: the
        event's, when the caller already knows it."""
        now = now or utc_now()
        ttl = ttl if ttl is not None else self._ttl_for(event.ts, now)
        if ttl is None:
            return
        minute = floor(Level.MINUTE, event.ts)
        await self._repo.insert_start(minute, shard_of(event.session_id, self._shards), event, ttl)
        await self._mark_all(self._buckets(minute), now)

    def _buckets(self, minute: datetime) -> list[Bucket]:
        # Starts arrive in few distinct minutes: their buckets are worked out once each.
        buckets = self._buckets_of_minute.get(minute)
        if buckets is None:
            if len(self._buckets_of_minute) > 4096:
                self._buckets_of_minute.clear()
            buckets = self._buckets_of_minute[minute] = buckets_of(minute)
        return buckets

    def row_key(self, start: StoredEvent) -> tuple[datetime, str]:
        """Where a start is counted: variants with the same minute and country share a row."""
        return floor(Level.MINUTE, start.ts), start.country

    async def forget(self, player_id: str, start: StoredEvent, best: StoredEvent, now: datetime | None = None) -> None:
        """Remove the row of a start variant that lost to `best` (see domain/sessions.py),
        so the session counts once; deleted at the winner's version, so a late write of the
        loser's row cannot bring it back."""
        now = now or utc_now()
        minute = floor(Level.MINUTE, start.ts)
        shard = shard_of(start.session_id, self._shards)
        at = version(best.ts, best.country)
        await self._repo.delete_start(minute, shard, start.country, player_id, start.session_id, at)
        await self._mark_all(self._buckets(minute), now)

    async def _mark_all(self, buckets: list[Bucket], now: datetime) -> None:
        # Called once the row is written: the mark must be later than that write, so it
        # is taken from the clock now, not from when the request began. Checked without
        # awaiting first: almost always an earlier mark of this process still covers it.
        written = utc_now()
        due = [b for b in buckets if self._marked_until.get(b, written) <= written]
        if due:
            await asyncio.gather(*(self._mark(bucket, written, now) for bucket in due))

    async def _mark(self, bucket: Bucket, written: datetime, now: datetime) -> None:
        ttl = self._ttl_for(bucket.end, now)
        if ttl is None:
            return
        until = written + MARK_AHEAD
        await self._repo.mark(bucket.level.value, bucket.partition, bucket.start, until, ttl)
        if len(self._marked_until) > 10_000:
            self._marked_until = {b: t for b, t in self._marked_until.items() if t > now}
        self._marked_until[bucket] = until

    async def count(self, hours: int, now: datetime | None = None) -> tuple[datetime, datetime, list[tuple[str, int]]]:
        """(from, to, [(country, starts)] largest first) for the `hours` ending with the current minute."""
        now = now or utc_now()
        start, end = window(hours, now)
        groups: dict[tuple[Level, datetime], list[Bucket]] = defaultdict(list)
        for bucket in decompose(start, end):
            groups[(bucket.level, bucket.partition)].append(bucket)
        partials = await asyncio.gather(
            *(self._count_group(level, part, wanted) for (level, part), wanted in groups.items())
        )
        totals: Counter[str] = Counter()
        for partial in partials:
            totals.update(partial)
        ranked = sorted(((c, n) for c, n in totals.items() if n > 0), key=lambda item: (-item[1], item[0]))
        return start, end, ranked

    async def _count_group(self, level: Level, partition: datetime, wanted: list[Bucket]) -> Counter[str]:
        low, high = min(b.start for b in wanted), max(b.end for b in wanted)
        return await self._fresh_counts(level, partition, low, high, {b.start for b in wanted})

    async def _fresh_counts(
        self, level: Level, partition: datetime, low: datetime, high: datetime, wanted: set[datetime] | None
    ) -> Counter[str]:
        """Counts per country of the buckets of one partition in [low, high), recounting
        the changed ones first. `wanted=None` means every bucket in the range."""
        states = await self._repo.states(level.value, partition, low, high)
        stale = [
            Bucket(level, start)
            for start, state in states.items()
            if (wanted is None or start in wanted) and is_stale(state)
        ]
        await asyncio.gather(*(self._recount(bucket) for bucket in stale))
        totals: Counter[str] = Counter()
        for bucket_start, country, starts in await self._repo.counts(level.value, partition, low, high):
            if wanted is None or bucket_start in wanted:
                totals[country] += starts
        return totals

    def _loop_state(self) -> tuple[asyncio.Semaphore, dict[Bucket, asyncio.Future[None]]]:
        # Asyncio primitives belong to one event loop; tools and tests may use several.
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._gate, self._inflight = loop, asyncio.Semaphore(RECOUNT_CONCURRENCY), {}
        return self._gate, self._inflight

    async def _limited(self, statement: Awaitable[T]) -> T:
        gate, _ = self._loop_state()
        async with gate:
            return await statement

    async def _recount(self, bucket: Bucket) -> None:
        """Recount `bucket`, or wait for the recount of it this process already runs (the
        dashboard polls every few seconds; a slow recount must not be started twice)."""
        _, inflight = self._loop_state()
        running = inflight.get(bucket)
        if running is None:
            running = asyncio.ensure_future(self._recount_now(bucket))
            inflight[bucket] = running
            running.add_done_callback(lambda _: inflight.pop(bucket, None))
        await asyncio.shield(running)

    async def _recount_now(self, bucket: Bucket) -> None:
        began = utc_now()
        if bucket.level is Level.MINUTE:
            per_shard = await asyncio.gather(
                *(self._limited(self._repo.minute_starts(bucket.start, shard)) for shard in range(self._shards))
            )
            # A session's start variants share its shard; of those in this minute the winner counts.
            variants: dict[tuple[str, UUID], list[StoredEvent]] = defaultdict(list)
            for rows in per_shard:
                for player_id, session_id, variant in rows:
                    variants[(player_id, session_id)].append(variant)
            counts: Counter[str] = Counter(best.country for vs in variants.values() if (best := winner(vs)))
        else:
            child_level, child_partition = children(bucket)
            counts = await self._fresh_counts(child_level, child_partition, bucket.start, bucket.end, None)
        ttl = self._ttl_for(bucket.end, began)
        if ttl is None:
            return
        level, part = bucket.level.value, bucket.partition
        # A country can also drop out (a start replaced by a re-delivery with another
        # country or time): its old count is overwritten with 0, not left behind.
        before = await self._limited(self._repo.counts(level, part, bucket.start, bucket.end))
        for _, country, _ in before:
            counts.setdefault(country, 0)
        await asyncio.gather(
            *(
                self._limited(self._repo.write_count(level, part, bucket.start, c, n, ttl, began))
                for c, n in counts.items()
            )
        )
        # Only after the counts: a reader that sees counted_at also sees the numbers.
        await self._limited(self._repo.set_counted(level, part, bucket.start, began, ttl))
