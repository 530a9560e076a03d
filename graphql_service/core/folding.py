"""Folding: turn a player's pending events into listed sessions, on the first read of that
player after they arrived. Ingest writes blind; this is where completion, conflicting
re-deliveries and end-before-start are settled (the rules: domain/sessions.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from ..domain.events import EventKind
from ..domain.sessions import Session, StoredEvent, duplicated_ids, plan_fold, records, stale_listings
from ..store.sessions import FOLD_MAX_EVENTS, Life, SessionRepository
from .outcomes import Observe
from .starts import SessionStarts

log = logging.getLogger(__name__)

# Rounds of FOLD_MAX_EVENTS pending events one read folds at most: a read stays bounded
# (anyone may post under any player id); a player with more pending waits for more reads.
FOLD_ROUNDS = 5


class Folding:
    def __init__(self, repo: SessionRepository, starts: SessionStarts, observe: Observe) -> None:
        self._repo = repo
        self._starts = starts
        self._observe = observe

    async def fold(self, player_id: str) -> bool:
        """Fold what is pending for the player, FOLD_MAX_EVENTS at a time, at most FOLD_ROUNDS
        times (what is left waits for the next read); True when anything was pending."""
        folded = False
        for _ in range(FOLD_ROUNDS):
            pending = await self._repo.pending_events(player_id)
            if not pending:
                break
            full = len(pending) >= FOLD_MAX_EVENTS
            if full:
                # Rows come in session order: the last session may be cut in two by the
                # LIMIT, so it waits for the next round (unless it is the only one).
                last = next(reversed(pending)).session_id
                pending = {e: life for e, life in pending.items() if e.session_id != last} or pending
            await self._fold(player_id, pending)
            folded = True
            if not full:
                break
        return folded

    async def _fold(self, player_id: str, pending: dict[StoredEvent, Life]) -> None:
        archived = await self._repo.archived_events(player_id, sorted({e.session_id for e in pending}))
        plan = plan_fold(player_id, archived, pending)
        # An archived row's life wins over a re-sent copy's (by ingestion time that one
        # would start the retention period again).
        lives = {**pending, **archived}
        # A listing lives as long as its session's winning end event: by event time that is
        # the retention from end_ts, by ingestion time the full period from when it came in.
        listed = [(s, lives[end].ttl) for s in plan.listed if (end := _end_of(s)) in lives]
        # Listings first, then archive and release: a fold that dies half-way leaves the
        # events pending, and the next read repeats it (every step is idempotent).
        await self._repo.write_listings(player_id, listed, plan.unlisted)
        # A start re-sent with another time or country: its losers leave the per-country
        # counts (a loser in the winner's minute and country is the winner's own row).
        await asyncio.gather(
            *(
                self._starts.forget(player_id, loser, best)
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

    async def without_stale(
        self, player_id: str, sessions: list[Session], read_again: Callable[[], Awaitable[list[Session]]]
    ) -> list[Session]:
        """`sessions` with no session listed twice. Two folds racing with different views
        of one session can leave a second listing row; the stored events decide which row
        is right, the other is deleted, and the listing is read again."""
        twice = duplicated_ids(sessions)
        if not twice:
            return sessions
        # Pending first, then archived: a fold archives only after listing, so a variant it
        # listed is in one or the other (or both); judging by the archive alone could delete
        # the right row at the session's version for good.
        pending = await self._repo.pending_events(player_id)
        archived = await self._repo.archived_events(player_id, sorted(twice))
        truth = records(player_id, [*archived, *(e for e in pending if e.session_id in twice)])
        stale = stale_listings([s for s in sessions if s.session_id in twice], truth)
        await self._repo.write_listings(player_id, [], stale)
        return _unique(await read_again())


def _end_of(session: Session) -> StoredEvent:
    return StoredEvent(session.session_id, EventKind.END, session.end_ts)


def _unique(sessions: Sequence[Session]) -> list[Session]:
    # Only reached right after deleting stale rows: a row a concurrent fold has since
    # written again is left out here and cleaned up by the next read.
    seen: set[UUID] = set()
    out = []
    for s in sessions:
        if s.session_id not in seen:
            seen.add(s.session_id)
            out.append(s)
    return out
