"""Folding: turn a player's pending events into listed sessions, on the first read of that
player after they arrived. Ingest writes blind; this is where completion, conflicting
re-deliveries and end-before-start are settled (the rules: domain/sessions.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from ..domain.events import EventKind
from ..domain.sessions import Session, StoredEvent, duplicated_ids, plan_fold, records, stale_listings
from ..store.sessions import SessionRepository
from .ingest import Observe
from .starts import SessionStarts

log = logging.getLogger(__name__)


class Folding:
    def __init__(self, repo: SessionRepository, starts: SessionStarts, observe: Observe) -> None:
        self._repo = repo
        self._starts = starts
        self._observe = observe

    async def fold(self, player_id: str) -> bool:
        """Fold what is pending for the player; True when anything was pending."""
        pending = await self._repo.pending_events(player_id)
        if not pending:
            return False
        archived = await self._repo.archived_events(player_id, sorted({e.session_id for e in pending}))
        plan = plan_fold(player_id, archived, pending)
        lives = {**archived, **pending}
        # A listing lives as long as its session's end event: by event time that is the
        # retention from end_ts, by ingestion time the full period from when it came in.
        listed = [(s, lives[end].ttl) for s in plan.listed if (end := _end_of(s)) in lives]
        # Listings first, then archive and release: a fold that dies half-way leaves the
        # events pending, and the next read repeats it (every step is idempotent).
        await self._repo.write_listings(player_id, listed, plan.unlisted)
        # A start re-sent with another time or country: its losers leave the per-country
        # counts (a loser in the winner's minute and country is the winner's own row).
        await asyncio.gather(
            *(
                self._starts.forget(player_id, loser)
                for loser, best in plan.lost_starts
                if self._starts.row_key(loser) != self._starts.row_key(best)
            )
        )
        await self._repo.archive(player_id, [(e, lives[e]) for e in plan.archive])
        await self._repo.release(player_id, plan.release)
        self._observe("duplicate", plan.duplicates)
        self._observe("completed", plan.completed)
        self._observe("invalid_session", len(plan.invalid))
        for session in plan.invalid:
            # Across batches the request that arrived second cannot be refused (the first
            # was already accepted), so the pair is stored but never listed.
            log.warning(
                "session %s of player %r ends before it starts; not listed",
                session.session_id,
                session.player_id,
                extra={"event_name": "invalid_session", "session_id": str(session.session_id)},
            )
        return True

    async def without_stale(
        self, player_id: str, sessions: list[Session], read_again: Callable[[], Awaitable[list[Session]]]
    ) -> list[Session]:
        """`sessions` with no session listed twice. Two folds racing with different views
        of one session can leave a second listing row; the stored events decide which row
        is right, the other is deleted, and the listing is read again."""
        twice = duplicated_ids(sessions)
        if not twice:
            return sessions
        truth = records(player_id, await self._repo.archived_events(player_id, sorted(twice)))
        stale = stale_listings([s for s in sessions if s.session_id in twice], truth)
        await self._repo.write_listings(player_id, [], stale)
        return _unique(await read_again())


def _end_of(session: Session) -> StoredEvent:
    return StoredEvent(session.session_id, EventKind.END, session.end_ts)


def _unique(sessions: Sequence[Session]) -> list[Session]:
    # Only reached right after deleting stale rows: a row a concurrent fold has since
    # written again is left out here and cleaned up by the next read.
    seen: set[object] = set()
    out = []
    for s in sessions:
        if s.session_id not in seen:
            seen.add(s.session_id)
            out.append(s)
    return out
