"""Ingest: validate a batch whole, then write each event blind, every write idempotent, no
read: a start is its session row's start cells and its per-country row (two statements), an
end its index row and its session row's end cell (one single-partition batch). Completion
is never decided here, nor anywhere that writes: a read finds both halves by itself
(core/history.py). Why this is safe under retries, races and many processes:
docs/architecture.md, "The session store".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta

from ..domain.arguments import checked_sent_at
from ..domain.buckets import Level, floor
from ..domain.errors import InvalidInput
from ..domain.events import Event, EventKind, SubmitResult, utc_now, validate_batch
from ..domain.retention import Retention
from ..settings import Settings
from ..store.sessions import SessionRepository
from .outcomes import Observe
from .starts import SessionStarts


class Ingest:
    def __init__(self, repo: SessionRepository, starts: SessionStarts, settings: Settings, observe: Observe) -> None:
        self._repo = repo
        self._starts = starts
        self._retention = Retention.from_settings(settings)
        self._max_future = timedelta(seconds=settings.max_future_seconds)
        self._observe = observe

    async def submit(
        self, raw_events: Sequence[object], now: datetime | None = None, sent_at: object = None
    ) -> SubmitResult:
        """Validate the whole batch (nothing is stored if any event is invalid), then store
        every event concurrently: each write touches a single partition.

        `sent_at` is the client's clock when it sent the batch. A device whose clock is wrong
        (or set to local time but sent without an offset) is wrong by the same amount in every
        `ts` it sends, so each `ts` is moved by (our receive time - `sent_at`) before it is
        checked: the events land when they happened by our clock, give or take the time the
        batch was on its way."""
        now = now or utc_now()
        try:
            shift = timedelta(0) if sent_at is None else now - checked_sent_at(sent_at)
            events = validate_batch(raw_events, now, self._max_future, shift)
        except InvalidInput:
            self._observe("rejected", len(raw_events))
            raise
        kept = [(e, ttl) for e in events if (ttl := self._retention.time_to_live(e.ts, now)) is not None]
        self._observe("expired", len(events) - len(kept))
        # After a storage failure some events may be stored; that is safe because every
        # write is idempotent and the caller retries the whole batch on the 503.
        # One flat gather per batch: tasks cost more CPU than the writes' own Python work.
        await asyncio.gather(*self.writes(kept, now))
        self._observe("accepted", len(kept))
        return SubmitResult(accepted=len(kept), expired=len(events) - len(kept))

    def writes(self, events: Sequence[tuple[Event, int]], now: datetime) -> list[Awaitable[None]]:
        """The statements that store `events` (each with its TTL), not yet awaited; also
        what `upgrade` replays old rows through (tools/upgrade.py)."""
        writes: list[Awaitable[None]] = []
        for event, ttl in events:
            if event.kind is EventKind.START:
                # A start is also counted per country. Variants of one start are settled
                # without a read, by the minute's recount (core/starts.py).
                writes.append(self._repo.write_start(event, ttl, floor(Level.MINUTE, event.ts)))
                writes.append(self._starts.record(event, now, ttl))
            else:
                writes.append(self._repo.write_end(event, ttl))
        return writes
