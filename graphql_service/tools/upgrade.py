"""`upgrade`: carry a keyspace written before the session store of cql/008 over to it.

Before cql/008 every event was a row of session_events_by_player (pending, then archived
by the fold of the next read) and complete sessions were rows of completed_sessions_by_player.
Every event row, pending or archived, is replayed through ingest's own writes with the life
its row had left, so the new store holds the same variants and lists the same sessions (the
listing rows were made from those events). Replaying is idempotent: an event written twice
is stored once, so a re-run, or the pending and the archived copy of one event, change
nothing. Progress is saved after every page by partition token: an interrupted upgrade goes
on from there. The servers may run meanwhile (the old tables are no longer written);
sessions whose events are not carried over yet are missing from reads until they are.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass

from ..core.settling import settle_after_writes
from ..domain.events import utc_now
from ..domain.retention import Retention
from ..settings import Settings
from ..store.legacy import FIRST_TOKEN, LegacyEvents, Progress
from .preflight import ready, silenced

PAGE_SIZE = 2_000
# Writes one upgrade keeps in flight.
CONCURRENCY = 256


@dataclass
class UpgradeSummary:
    events: int = 0
    expired: int = 0
    already_done: bool = False
    settled_buckets: int = 0
    elapsed_seconds: float = 0.0


async def upgrade(settings: Settings, *, from_start: bool = False, page_size: int = PAGE_SIZE) -> UpgradeSummary:
    summary = UpgradeSummary()
    started = time.monotonic()
    try:
        async with ready(settings) as (db, service):
            legacy = await LegacyEvents.create(db, settings.keyspace)
            progress = Progress(FIRST_TOKEN, 0, None) if from_start else await legacy.progress()
            if progress.finished_at is not None:
                summary.already_done = True
                summary.events = progress.events
                return summary
            retention = Retention.from_settings(settings)
            began = utc_now()
            gate = asyncio.Semaphore(CONCURRENCY)

            async def limited(write: Awaitable[None]) -> None:
                async with gate:
                    await write

            events = progress.events
            async for page in legacy.scan(progress.next_token, page_size):
                now = utc_now()
                kept = []
                for row in page:
                    # A row's TTL is what its event has left (whatever RETENTION_CLOCK said when
                    # it came in); a row written by hand without one gets this keyspace's rule.
                    ttl = row.ttl if row.ttl is not None else retention.time_to_live(row.event.ts, now)
                    if ttl is None or ttl < 1:
                        summary.expired += 1
                        continue
                    kept.append((row.event, ttl))
                await asyncio.gather(*(limited(w) for w in service.ingest.writes(kept, now)))
                events += len(kept)
                summary.events += len(kept)
                if page:
                    # From the last partition of the page, not after it: it may go on in the next
                    # page, and reading it again on a resume is harmless.
                    await legacy.save(Progress(page[-1].token, events, None))
            summary.settled_buckets = await settle_after_writes(service.starts, began)
            await legacy.save(Progress(FIRST_TOKEN, events, utc_now()))
    finally:
        summary.elapsed_seconds = time.monotonic() - started
    return summary


def main(settings: Settings, *, from_start: bool, debug: bool) -> int:
    with silenced(not debug):
        summary = asyncio.run(upgrade(settings, from_start=from_start))
    if summary.already_done:
        print(
            f"keyspace {settings.keyspace}: already upgraded ({summary.events:,} events carried over); "
            "--from-start replays them again"
        )
        return 0
    print(
        f"keyspace {settings.keyspace}: carried {summary.events:,} events over to the session store in "
        f"{summary.elapsed_seconds:.1f} s ({summary.expired:,} past retention left behind; "
        f"{summary.settled_buckets:,} per-country buckets recounted)"
    )
    return 0
