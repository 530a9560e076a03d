"""Rollups ahead of the question: every server process recounts the per-country start
buckets that changed, a few seconds after the writes, so that queries find them counted
(a dashboard opened right after a backfill answers at once instead of recounting).

Which days changed comes from the change log of cql/007 (by minute of the write), so a
pass reads a few tiny partitions whatever the data size; what to recount inside those
days comes from the bucket marks (`SessionStarts.settle`). Many processes settle at once
without locks: recounts overwrite absolute numbers, so they agree. A pass that fails is
logged and retried by the next; a bucket it missed is still recounted by the first query
that needs it, so settling only ever changes how fast an answer is, never what it says.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from ..domain.events import utc_now
from .starts import MARK_AHEAD, STALE_MARGIN, SessionStarts

log = logging.getLogger(__name__)

# A freshly started process looks this far back for changes (the log keeps a day).
STARTUP_LOOKBACK = timedelta(hours=1)
# Each pass reads the log again from this long before the previous pass: a day written
# just before that pass was still busy then (not yet quiet for STALE_MARGIN) and must be
# seen again; the rest covers clock differences between processes.
RESCAN = MARK_AHEAD + STALE_MARGIN + timedelta(minutes=1)


class Settler:
    def __init__(self, starts: SessionStarts, interval_seconds: float) -> None:
        self._starts = starts
        self._interval = interval_seconds
        self._since: datetime | None = None

    async def run_once(self, now: datetime | None = None) -> int:
        """One pass over the days changed since the last pass; returns the buckets recounted."""
        now = now or utc_now()
        since = self._since or now - STARTUP_LOOKBACK
        days = await self._starts.changed_days(since, now)
        recounted = await self._starts.settle(days, now)
        self._since = now - RESCAN
        return recounted

    async def run_forever(self) -> None:
        while True:
            try:
                recounted = await self.run_once()
                if recounted:
                    log.debug("settled %d start buckets", recounted, extra={"event_name": "starts_settled"})
            except Exception:
                # Never fatal: the next pass tries again, and queries recount what is left.
                log.exception("settling changed start buckets failed", extra={"event_name": "settle_failed"})
            await asyncio.sleep(self._interval)


async def settle_after_writes(starts: SessionStarts, since: datetime) -> int:
    """Recount what this process's writes since `since` changed, once those writes are
    quiet (import does this before it exits); returns the buckets recounted."""
    if starts.last_marked is None:
        return 0
    quiet_at = starts.last_marked + MARK_AHEAD + STALE_MARGIN
    wait = (quiet_at - utc_now()).total_seconds()
    if wait > 0:
        await asyncio.sleep(wait)
    now = utc_now()
    return await starts.settle(await starts.changed_days(since - RESCAN, now), now)
