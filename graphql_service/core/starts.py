"""Session starts per country over the last X hours: exact, idempotent, and at a cost that
grows with X and the number of countries rather than with the number of sessions.
How the minute rows, bucket marks and recounts fit together: docs/architecture.md.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from ..domain.buckets import (
    SIZE,
    Bucket,
    Level,
    buckets_of,
    children,
    decompose,
    floor,
    series_pieces,
    window,
)
from ..domain.events import Event, utc_now
from ..domain.sessions import winner
from ..store.sessions import SessionRepository, StartCells
from ..store.starts import BucketState, MinuteStart, SessionStartsRepository

# The shard count of a minute written before minutes recorded theirs (cql/007), and the default.
SHARDS = 8
MARK_AHEAD = timedelta(seconds=2)
STALE_MARGIN = timedelta(seconds=5)
# A start row written this long before a minute's last count began is checked again by the
# next count (clocks of processes differ; a write may land after the count read the rows).
CHECK_MARGIN = timedelta(seconds=30)
# How long a recount keeps looking again for a session row that has not landed yet: the
# ingest that wrote the start row writes it at the same time, or its client retries.
RECHECK_FOR = timedelta(seconds=60)
# A busy minute holds tens of thousands of start rows: its recount hands the event loop back
# every this many, so the requests the same process serves do not wait for it.
YIELD_EVERY = 1000
# Statements one process keeps in flight for recounts: a window full of changed buckets
# (after a backfill of late starts) is recounted in bounded bites, not all at once.
RECOUNT_CONCURRENCY = 32
# Days one settling pass works on at once (each fans out into its hours and minutes).
SETTLE_DAYS_AT_ONCE = 4
T = TypeVar("T")

# (t, now) -> the TTL of a row about time t, or None when t is already past retention.
TimeToLive = Callable[[datetime, datetime], int | None]


def is_stale(state: BucketState) -> bool:
    if state.counted_at is None or state.last_write is None:
        return True
    return state.last_write > state.counted_at - STALE_MARGIN


def is_quiet(state: BucketState, now: datetime) -> bool:
    """Recounting the bucket now would leave it counted (not stale) until it is written again."""
    return state.last_write is not None and state.last_write <= now - STALE_MARGIN


def shard_of(session_id: UUID, shards: int = SHARDS) -> int:
    return session_id.int % shards


def shard_counts_up_to(most: int) -> list[int]:
    """Every shard count a row may have been written with, when the largest was `most`
    (START_SHARDS is a power of two: settings.py)."""
    return [1 << n for n in range(most.bit_length()) if 1 << n <= most]


class SessionStarts:
    def __init__(
        self,
        repo: SessionStartsRepository,
        sessions: SessionRepository,
        time_to_live: TimeToLive,
        *,
        shards: int = SHARDS,
    ) -> None:
        # Never fewer than SHARDS: minutes from before cql/007 recorded no count and were
        # written over SHARDS partitions, so a recount reads at least that many.
        if shards < SHARDS or shards & (shards - 1):
            raise ValueError(f"shards must be a power of two from {SHARDS}, got {shards}")
        self._repo = repo
        self._sessions = sessions
        self._ttl_for = time_to_live
        self._shards = shards
        self._marked_until: dict[Bucket, datetime] = {}
        self._buckets_of_minute: dict[datetime, list[Bucket]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate = asyncio.Semaphore(RECOUNT_CONCURRENCY)
        self._inflight: dict[Bucket, asyncio.Future[None]] = {}
        self._shards_recorded: set[datetime] = set()
        # Conflicts a recount found and marked in other minutes: a count that sees this
        # change while it runs counts again (core/starts.py `_bucket_counts`).
        self._conflicts_marked = 0
        # When this process last marked a bucket as changed (import waits for it to go quiet).
        self.last_marked: datetime | None = None

    async def record(self, event: Event, now: datetime | None = None, ttl: int | None = None) -> None:
        """Store one start event (idempotent) and mark its buckets as changed. `ttl`: the
        event's, when the caller already knows it."""
        now = now or utc_now()
        ttl = ttl if ttl is not None else self._ttl_for(event.ts, now)
        if ttl is None:
            return
        minute = floor(Level.MINUTE, event.ts)
        await self._repo.insert_start(minute, shard_of(event.session_id, self._shards), event, ttl, now)
        await self._mark_all(self._buckets(minute), now)

    def _buckets(self, minute: datetime) -> list[Bucket]:
        # Starts arrive in few distinct minutes: their buckets are worked out once each.
        buckets = self._buckets_of_minute.get(minute)
        if buckets is None:
            if len(self._buckets_of_minute) > 4096:
                self._buckets_of_minute.clear()
            buckets = self._buckets_of_minute[minute] = buckets_of(minute)
        return buckets

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
        if bucket.level is Level.MINUTE and bucket.start not in self._shards_recorded:
            # Before the mark: a recount that reads the count too early began before the
            # mark, so the mark leaves the minute stale and it is recounted again.
            await self._repo.record_shards(bucket.partition, bucket.start, self._shards, ttl)
            if len(self._shards_recorded) > 4096:
                self._shards_recorded.clear()
            self._shards_recorded.add(bucket.start)
        await self._repo.mark(bucket.level.value, bucket.partition, bucket.start, until, ttl)
        if bucket.level is Level.DAY:
            # After the mark: a settler that finds the day here finds it marked.
            await self._repo.mark_changed_day(floor(Level.MINUTE, written), bucket.start)
        self.last_marked = max(self.last_marked or written, written)
        if len(self._marked_until) > 10_000:
            # Marks only save statements: past the bound keep the ones still running ahead,
            # and if those are still too many (a backfill over many minutes), none. Pruning
            # that keeps 10,000 live marks would cost 10,000 steps for every new one.
            self._marked_until = {b: t for b, t in self._marked_until.items() if t > written}
            if len(self._marked_until) > 5_000:
                self._marked_until.clear()
        self._marked_until[bucket] = until

    async def count(self, hours: int, now: datetime | None = None) -> tuple[datetime, datetime, list[tuple[str, int]]]:
        """(from, to, [(country, starts)] largest first) for the `hours` ending with the current minute."""
        now = now or utc_now()
        start, end = window(hours, now)
        totals: Counter[str] = Counter()
        for _, country, starts in await self._bucket_counts(decompose(start, end)):
            totals[country] += starts
        ranked = sorted(((c, n) for c, n in totals.items() if n > 0), key=lambda item: (-item[1], item[0]))
        return start, end, ranked

    async def series(
        self, hours: int, step: Level, country: str | None = None, now: datetime | None = None
    ) -> tuple[datetime, datetime, list[tuple[datetime, str, int]]]:
        """(from, to, [(bucket start, country, starts)] by bucket then country) over the same
        window as `count`: UTC-aligned `step` buckets, the edge ones cut by the window, empty
        ones left out. Reads the stored counts of whole hours and days, not the starts."""
        now = now or utc_now()
        start, end = window(hours, now)
        pieces = series_pieces(step, start, end)
        series_start = {bucket: at for at, bucket in pieces}
        totals: Counter[tuple[datetime, str]] = Counter()
        for bucket, c, starts in await self._bucket_counts([bucket for _, bucket in pieces]):
            if country is None or c == country:
                totals[(series_start[bucket], c)] += starts
        return start, end, [(at, c, n) for (at, c), n in sorted(totals.items()) if n > 0]

    async def _bucket_counts(self, buckets: list[Bucket]) -> list[tuple[Bucket, str, int]]:
        """(bucket, country, starts) of each of `buckets`, recounting the changed ones first;
        one read per partition the buckets fall in."""
        groups: dict[tuple[Level, datetime], list[Bucket]] = defaultdict(list)
        for bucket in buckets:
            groups[(bucket.level, bucket.partition)].append(bucket)
        for _ in range(2):
            # A recount may find a start re-sent into a minute this count has already read
            # as settled: that minute is marked changed, and counting once more recounts it.
            conflicts_before = self._conflicts_marked
            partials = await asyncio.gather(
                *(self._count_group(level, part, wanted) for (level, part), wanted in groups.items())
            )
            if self._conflicts_marked == conflicts_before:
                break
        return [row for partial in partials for row in partial]

    async def _count_group(
        self, level: Level, partition: datetime, wanted: list[Bucket]
    ) -> list[tuple[Bucket, str, int]]:
        low, high = min(b.start for b in wanted), max(b.end for b in wanted)
        rows = await self._fresh_rows(level, partition, low, high, {b.start for b in wanted})
        return [(Bucket(level, at), country, starts) for at, country, starts in rows]

    async def _fresh_counts(
        self, level: Level, partition: datetime, low: datetime, high: datetime, wanted: set[datetime] | None
    ) -> Counter[str]:
        totals: Counter[str] = Counter()
        for _, country, starts in await self._fresh_rows(level, partition, low, high, wanted):
            totals[country] += starts
        return totals

    async def _fresh_rows(
        self, level: Level, partition: datetime, low: datetime, high: datetime, wanted: set[datetime] | None
    ) -> list[tuple[datetime, str, int]]:
        """(bucket, country, starts) of the buckets of one partition in [low, high), recounting
        the changed ones first. `wanted=None` means every bucket in the range."""
        states = await self._repo.states(level.value, partition, low, high)
        stale = [
            Bucket(level, start)
            for start, state in states.items()
            if (wanted is None or start in wanted) and is_stale(state)
        ]
        await asyncio.gather(*(self._recount(bucket) for bucket in stale))
        rows = await self._repo.counts(level.value, partition, low, high)
        return [row for row in rows if wanted is None or row[0] in wanted]

    async def changed_days(self, since: datetime, until: datetime) -> set[datetime]:
        """The days whose starts were written to between `since` and `until` (wall clock,
        by the minute), from the change log of cql/007."""
        minutes, t = [], floor(Level.MINUTE, since)
        while t <= until:
            minutes.append(t)
            t += SIZE[Level.MINUTE]
        found = await asyncio.gather(*(self._limited(self._repo.changed_days(m)) for m in minutes))
        return {day for days in found for day in days}

    async def settle(self, days: Iterable[datetime], now: datetime | None = None) -> int:
        """Recount every changed bucket of `days` (minutes, then hours, then the day) that
        has been quiet for STALE_MARGIN, so that queries find it counted; returns how many
        buckets were recounted. Safe to run in any number of processes at once: a recount
        overwrites absolute numbers (see `_recount_now`), so racing settlers write the same
        totals and the one that began later wins. Buckets written to in the last few
        seconds are left to the queries, which recount them anyway."""
        now = now or utc_now()
        gate = asyncio.Semaphore(SETTLE_DAYS_AT_ONCE)
        recounted: list[Bucket] = []

        async def one(day: datetime) -> None:
            async with gate:
                bucket = Bucket(Level.DAY, day)
                state = await self._repo.state(Level.DAY.value, bucket.partition, day)
                if state is not None and is_stale(state):
                    await self._settle(bucket, state, now, recounted)

        await asyncio.gather(*(one(day) for day in set(days)))
        return len(recounted)

    async def _settle(self, bucket: Bucket, state: BucketState, now: datetime, recounted: list[Bucket]) -> None:
        if bucket.level is not Level.MINUTE:
            child_level, partition = children(bucket)
            states = await self._limited(self._repo.states(child_level.value, partition, bucket.start, bucket.end))
            await asyncio.gather(
                *(
                    self._settle(Bucket(child_level, at), child, now, recounted)
                    for at, child in states.items()
                    if is_stale(child)
                )
            )
        # Children first: an hour's recount then only reads its minutes' stored counts.
        if is_quiet(state, now):
            await self._recount(bucket)
            recounted.append(bucket)

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

    async def _minute_counts(
        self, minute: datetime, state: BucketState | None, rows: list[MinuteStart], began: datetime
    ) -> Counter[str]:
        """Starts per country of one minute: each session once, at its winning start.

        Variants of a start in this minute are settled here (a session's variants share its
        shard; the latest ts, then the larger country wins). A variant in ANOTHER minute is
        settled against the session row, whose start cells hold the winner of all variants
        (cql/008): the rows new since the minute's last count, and the sessions recorded as
        having variants in several minutes, are checked there; a session whose winner is
        elsewhere does not count here. Checking a new row that finds variants in other
        minutes records the conflict in each of them and marks them changed, so they are
        recounted and drop the session too. Old rows were checked when they were new."""
        variants: dict[tuple[str, UUID], list[MinuteStart]] = defaultdict(list)
        for i, row in enumerate(rows):
            variants[(row.player_id, row.variant.session_id)].append(row)
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
        new_since = None if state is None or state.counted_at is None else state.counted_at - CHECK_MARGIN
        conflicts = await self._limited(self._repo.conflicts(minute))
        check = set()
        for i, (key, vs) in enumerate(variants.items()):
            if key in conflicts or any(
                v.received_at is not None and (new_since is None or v.received_at >= new_since) for v in vs
            ):
                check.add(key)
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
        cells = await self._start_cells(check)
        counts: Counter[str] = Counter()
        again = False
        for i, (key, vs) in enumerate(variants.items()):
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
            best = winner(v.variant for v in vs)
            if best is None:
                continue
            if key not in check:
                counts[best.country] += 1
                continue
            session = cells.get(key[1])
            if session is None or session.start_ts is None or minute not in session.minutes:
                # The session row's write has not landed yet (ingest writes both at once):
                # count the minute's own winner for now and look again soon.
                counts[best.country] += 1
                again = again or any(v.received_at is not None and v.received_at > began - RECHECK_FOR for v in vs)
                continue
            if floor(Level.MINUTE, session.start_ts) == minute:
                counts[best.country] += 1
            if len(session.minutes) > 1:
                await self._record_conflict(key, session.minutes, minute, began)
        if again:
            await self._mark_all(self._buckets(minute), began)
        return counts

    async def _start_cells(self, keys: Iterable[tuple[str, UUID]]) -> dict[UUID, StartCells]:
        by_player: dict[str, list[UUID]] = defaultdict(list)
        for player_id, session_id in keys:
            by_player[player_id].append(session_id)
        found = await asyncio.gather(
            *(self._limited(self._sessions.start_cells(p, ids)) for p, ids in by_player.items())
        )
        return {sid: cell for cells in found for sid, cell in cells.items()}

    async def _record_conflict(
        self, key: tuple[str, UUID], minutes: frozenset[datetime], here: datetime, now: datetime
    ) -> None:
        player_id, session_id = key
        for minute in minutes:
            ttl = self._ttl_for(minute + SIZE[Level.MINUTE], now)
            if ttl is None:
                continue
            await self._limited(self._repo.write_conflict(minute, player_id, session_id, ttl))
            if minute != here:
                # After the conflict row: the other minute's recount, which the mark brings
                # about, finds it. Marked anew even where this process marked it lately: that
                # mark may be older than the other minute's last count.
                buckets = self._buckets(minute)
                for bucket in buckets:
                    self._marked_until.pop(bucket, None)
                await self._mark_all(buckets, now)
                self._conflicts_marked += 1

    async def _recount_now(self, bucket: Bucket) -> None:
        began = utc_now()
        if bucket.level is Level.MINUTE:
            # Read after `began`: a shard count recorded later comes with a later mark.
            state = await self._limited(self._repo.state(bucket.level.value, bucket.partition, bucket.start))
            shards = (state.shards if state else None) or SHARDS
            per_shard = await asyncio.gather(
                *(self._limited(self._repo.minute_starts(bucket.start, shard)) for shard in range(shards))
            )
            counts = await self._minute_counts(bucket.start, state, [row for rows in per_shard for row in rows], began)
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
