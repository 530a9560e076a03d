"""The event-processing rules: retention, completion, idempotency.

How a session completes without lightweight transactions or process-local state:

0. Read the session row. If an event's half is already there with the same values, it
   is a re-delivery: count it as a duplicate and skip its write.
1. Write the new half (an upsert: even a re-delivery racing the first delivery
   rewrites the same cells, so duplicates change nothing).
2. If the other half was already there (or came in the same batch), the session is
   complete. Otherwise read the row back: writes and reads use consistency levels whose
   replica sets overlap (LOCAL_QUORUM for both by default, so R + W > RF).
3. If both halves are there, write the completed row. Its key is deterministic
   (player, end_ts, session_id), so when both writers see both halves they write the
   same row twice, which is harmless.

Why one of two racing writers always sees both halves: each writer's read starts after
its own write was acknowledged by a quorum. Whichever write is acknowledged later, its
writer's read begins after *both* writes are on a quorum, and quorums overlap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from .domain import Event, EventKind, InvalidInput, SubmitResult, is_valid_session, utc_now, validate_batch
from .repository import SessionHalves, SessionRepository
from .session_starts import SessionStarts
from .settings import MAX_TTL_SECONDS, RetentionClock, Settings

log = logging.getLogger(__name__)

IngestOutcome = Literal["accepted", "rejected", "expired", "duplicate", "completed", "invalid_session"]
# Called with what happened to how many events (or sessions, for completed and
# invalid_session); metrics hook in here. Must not block.
Observe = Callable[[IngestOutcome, int], None]


def ignore(outcome: IngestOutcome, count: int) -> None:
    pass


@dataclass(frozen=True)
class Retention:
    seconds: int
    clock: RetentionClock = "event"

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(seconds=settings.retention_seconds, clock=settings.retention_clock)

    def time_to_live(self, event_ts: datetime, now: datetime) -> int | None:
        """Seconds a row about this event may live; None when it is already past retention.

        By event time (the default) a row lives until its event is `seconds` old, so an
        event from 11 months ago is kept for one more month. By ingestion time every
        row lives the full period (for replaying historic data sets).
        """
        if self.clock == "ingestion":
            return self.seconds
        remaining = int((event_ts + timedelta(seconds=self.seconds) - now).total_seconds())
        if remaining < 1:
            return None
        # An event up to MAX_FUTURE_SECONDS ahead could ask for more than Cassandra's 20 years.
        return min(remaining, MAX_TTL_SECONDS)


async def submit_events(
    repo: SessionRepository,
    raw_events: Sequence[object],
    settings: Settings,
    *,
    now: datetime | None = None,
    observe: Observe = ignore,
    starts: SessionStarts | None = None,
) -> SubmitResult:
    """Validate a whole batch (nothing is stored if any event is invalid), then store it.

    Events are written concurrently: each touches its own single partition, which is
    how Cassandra wants many small writes (not a multi-partition batch).
    """
    now = now or utc_now()
    try:
        events = validate_batch(raw_events, now, timedelta(seconds=settings.max_future_seconds))
    except InvalidInput:
        observe("rejected", len(raw_events))
        raise
    retention = Retention.from_settings(settings)
    kept = [(event, ttl) for event in events if (ttl := retention.time_to_live(event.ts, now)) is not None]
    observe("expired", len(events) - len(kept))
    # One task per session, concurrent across sessions: each touches one partition.
    by_session: dict[tuple[str, UUID], list[tuple[Event, int]]] = {}
    for event, ttl in kept:
        by_session.setdefault((event.player_id, event.session_id), []).append((event, ttl))

    outcomes = await asyncio.gather(
        *(_record_session(repo, items, retention, now, observe, starts) for items in by_session.values()),
        return_exceptions=True,
    )
    for outcome in outcomes:
        # After a storage failure some halves may be stored; that is safe because every
        # write is idempotent and the caller retries the whole batch on the 503.
        if isinstance(outcome, BaseException):
            raise outcome
    observe("accepted", len(kept))
    return SubmitResult(accepted=len(kept), expired=len(events) - len(kept))


async def _record_session(
    repo: SessionRepository,
    items: list[tuple[Event, int]],
    retention: Retention,
    now: datetime,
    observe: Observe,
    starts: SessionStarts | None,
) -> None:
    """Record this batch's events of one session (one or both halves, maybe repeated)."""
    player_id, session_id = items[0][0].player_id, items[0][0].session_id
    # Read first: a re-delivered event (the common retry) then costs this read and no write.
    stored = await repo.read_halves(player_id, session_id)
    latest: dict[EventKind, tuple[Event, int, bool]] = {}  # kind -> (event, ttl, already stored)
    for event, ttl in items:
        already_stored = stored is not None and stored.holds(event)
        repeated_in_batch = event.kind in latest and latest[event.kind][0] == event
        if already_stored or repeated_in_batch:
            observe("duplicate", 1)
        latest[event.kind] = (event, ttl, already_stored)  # within one batch, the last of a kind wins
    fresh = [(e, ttl) for e, ttl, already_stored in latest.values() if not already_stored]
    start = latest.get(EventKind.START)

    # Independent writes go out together: the halves, and the start's row for the
    # per-country counts (also on re-delivery: the row is the same, and a first delivery
    # that died before writing it is repaired by the retry).
    writes = [repo.write_half(event, ttl) for event, ttl in fresh]
    if starts is not None and start is not None:
        writes.append(starts.record(start[0], now))
        replaced = stored.start_event() if stored is not None else None
        if replaced is not None and not start[2]:
            # A re-delivery with another time or country: count the session once, here.
            writes.append(starts.forget(replaced, now))
    await asyncio.gather(*writes)

    known = (stored or SessionHalves(player_id, session_id, None, None, None)).with_events(e for e, _ in fresh)
    if known.complete() is None and fresh:
        # The other half may have been written concurrently by another request: read again.
        # Reads and writes overlap (R + W > RF), so of two racing writers the one whose
        # write was acknowledged last sees both halves here.
        known = await repo.read_halves(player_id, session_id) or known
    session = known.complete()
    if session is None:
        return
    if not is_valid_session(session.start_ts, session.end_ts):
        # Across batches we cannot reject the request that arrived second (the first
        # was already accepted), so the pair is stored but never listed.
        observe("invalid_session", 1)
        log.warning(
            "session %s of player %r ends before it starts; not listed",
            session.session_id,
            session.player_id,
            extra={"event_name": "invalid_session", "session_id": str(session.session_id)},
        )
        return
    completed_ttl = retention.time_to_live(session.end_ts, now)
    if completed_ttl is not None:
        # With nothing fresh this is the repair of a first delivery that died between
        # writing its half and this row (e.g. on a 503).
        await repo.write_completed(session, completed_ttl)
        if fresh:
            # Two racing writers may both get here for one session; rare, and harmless
            # for the data (same row), so the metric may count such a session twice.
            observe("completed", 1)
