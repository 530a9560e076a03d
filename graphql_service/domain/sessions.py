"""Sessions: how the stored events of one session become at most one listed session.

Every distinct event is stored as a variant of its half (an identical re-delivery is the
same variant). Of conflicting variants one wins, by a rule that needs no clock and no
arrival order: the latest `ts` (for starts, then the larger country code). A session is
listed when the winners of both halves exist and the end is not before the start.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from .events import EventKind


@dataclass(frozen=True)
class Session:
    """A complete session: both its start and its end have been stored."""

    session_id: UUID
    player_id: str
    country: str
    start_ts: datetime
    end_ts: datetime

    @property
    def duration_seconds(self) -> float:
        return (self.end_ts - self.start_ts).total_seconds()


@dataclass(frozen=True)
class StoredEvent:
    """One variant of a session's half as stored; `country` is '' on an end."""

    session_id: UUID
    kind: EventKind
    ts: datetime
    country: str = ""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(t: datetime) -> int:
    """Microseconds since the epoch, exact for any datetime (a CQL write timestamp)."""
    return (t - _EPOCH) // timedelta(microseconds=1)


def version(ts: datetime, country: str) -> int:
    """A write timestamp that orders start variants exactly as `winner` does: times are kept
    to the millisecond, so the last three digits of the microseconds are free for the
    country's rank (AA = 0 … ZZ = 675). Rows written at it keep the winning variant's values
    whatever order the writes land in, and a delete at it removes every losing variant's."""
    rank = (ord(country[0]) - 65) * 26 + (ord(country[1]) - 65) if len(country) == 2 and country.isupper() else 0
    return micros(ts) + max(0, min(rank, 999))


def winner(variants: Iterable[StoredEvent]) -> StoredEvent | None:
    """The variant of one half that counts: latest ts, then the larger country code."""
    return max(variants, key=lambda v: (v.ts, v.country), default=None)


def is_valid_session(start_ts: datetime, end_ts: datetime) -> bool:
    return end_ts >= start_ts


@dataclass(frozen=True)
class SessionRecord:
    """Everything stored about one session of one player."""

    player_id: str
    session_id: UUID
    variants: frozenset[StoredEvent]

    def winners(self) -> tuple[StoredEvent | None, StoredEvent | None]:
        starts = [v for v in self.variants if v.kind is EventKind.START]
        ends = [v for v in self.variants if v.kind is EventKind.END]
        return winner(starts), winner(ends)

    def complete(self) -> Session | None:
        """The session the winning halves make, valid or not; None while a half is missing."""
        start, end = self.winners()
        if start is None or end is None:
            return None
        return Session(self.session_id, self.player_id, start.country, start.ts, end.ts)

    def listed(self) -> Session | None:
        session = self.complete()
        if session is None or not is_valid_session(session.start_ts, session.end_ts):
            return None
        return session

    def version(self) -> int | None:
        """The winning start's `version`: listing rows are written at it, so of two folds
        racing with different views of the session the better-informed one wins."""
        start, _ = self.winners()
        return None if start is None else version(start.ts, start.country)

    def unlistings(self) -> list[Unlisting]:
        """The listing rows of every end variant that is not (or no longer) listed: with a
        conflicting end, or an end before its start, a fold that knew less may have written
        one; deleting at this session's version removes it whatever its order."""
        start, _ = self.winners()
        at = self.version()
        if start is None or at is None:
            return []  # nothing can have been listed without a start
        listed = self.listed()
        return [
            Unlisting(Session(self.session_id, self.player_id, start.country, start.ts, v.ts), at)
            for v in self.variants
            if v.kind is EventKind.END and (listed is None or v.ts != listed.end_ts)
        ]


def records(player_id: str, variants: Iterable[StoredEvent]) -> dict[UUID, SessionRecord]:
    grouped: dict[UUID, set[StoredEvent]] = defaultdict(set)
    for v in variants:
        grouped[v.session_id].add(v)
    return {sid: SessionRecord(player_id, sid, frozenset(vs)) for sid, vs in grouped.items()}


@dataclass(frozen=True)
class Unlisting:
    """A listing row that no longer matches the session's winning halves."""

    session: Session
    version: int


@dataclass
class FoldPlan:
    """What folding a player's pending events into the read model writes, in this order:
    listings (`unlisted`, `listed`) and per-country losers first, then `archive`, then
    `release`, so a fold that dies half-way leaves the events pending and the next fold
    repeats it."""

    listed: list[Session] = field(default_factory=list)
    unlisted: list[Unlisting] = field(default_factory=list)
    archive: list[StoredEvent] = field(default_factory=list)
    release: list[StoredEvent] = field(default_factory=list)
    duplicates: int = 0
    completed: int = 0
    invalid: list[Session] = field(default_factory=list)
    # (loser, winner) of every start variant that a new start outranked or was outranked
    # by: each session is counted per country once, at its winning start.
    lost_starts: list[tuple[StoredEvent, StoredEvent]] = field(default_factory=list)


def plan_fold(player_id: str, archived: Iterable[StoredEvent], pending: Iterable[StoredEvent]) -> FoldPlan:
    """Fold pending event variants into the archived ones. Pure: a function of what was read."""
    plan = FoldPlan()
    before = records(player_id, archived)
    pending_by_session = records(player_id, pending)
    for session_id, fresh in pending_by_session.items():
        old = before.get(session_id, SessionRecord(player_id, session_id, frozenset()))
        new = SessionRecord(player_id, session_id, old.variants | fresh.variants)
        new_events = sorted(fresh.variants - old.variants, key=lambda v: (v.kind, v.ts, v.country))
        plan.archive.extend(new_events)
        plan.release.extend(fresh.variants)
        plan.duplicates += len(fresh.variants) - len(new_events)
        best_start, _ = new.winners()
        if best_start is not None and any(e.kind is EventKind.START for e in fresh.variants):
            # Also for a re-sent loser: ingest wrote its per-country row again.
            plan.lost_starts += [(v, best_start) for v in new.variants if v.kind is EventKind.START and v != best_start]
        was, now = old.listed(), new.listed()
        if len([v for v in new.variants if v.kind is EventKind.END]) > 1 or now is None:
            plan.unlisted += new.unlistings()
        if now is not None:
            # Written even when unchanged: a fold that died after archiving but before
            # listing is repaired by the next one (the row is the same; writing is idempotent).
            plan.listed.append(now)
            if was is None:
                plan.completed += 1
        elif new_events and (complete := new.complete()) is not None and old.complete() != complete:
            plan.invalid.append(complete)
    return plan


def stale_listings(listed: Sequence[Session], truth: dict[UUID, SessionRecord]) -> list[Unlisting]:
    """Listing rows that can never be right again (left by two folds racing): their end lost
    to a later one, or the winning pair ends before it starts. Winners only move forward, so
    such a row's key stays dead and deleting it at the session's version is safe even when
    `truth` misses variants still arriving. A row with the right end but an older start is
    not stale: the next fold overwrites it at a higher version."""
    stale = []
    for session in listed:
        record = truth.get(session.session_id)
        complete = record.complete() if record is not None else None
        if record is None or complete is None:
            continue
        at = record.version()
        beaten = session.end_ts != complete.end_ts or not is_valid_session(complete.start_ts, complete.end_ts)
        if at is not None and beaten:
            stale.append(Unlisting(session, at))
    return stale


def duplicated_ids(listed: Sequence[Session]) -> set[UUID]:
    seen: set[UUID] = set()
    twice: set[UUID] = set()
    for s in listed:
        (twice if s.session_id in seen else seen).add(s.session_id)
    return twice


@dataclass(frozen=True)
class PlayerStats:
    """Totals over the player's retained complete sessions."""

    completed_sessions: int
    total_seconds: float
    last_session_end: datetime | None

    @property
    def average_seconds(self) -> float | None:
        return self.total_seconds / self.completed_sessions if self.completed_sessions else None

    @classmethod
    def of(cls, sessions: Sequence[Session]) -> PlayerStats:
        return cls(
            completed_sessions=len(sessions),
            total_seconds=sum(s.duration_seconds for s in sessions),
            last_session_end=max((s.end_ts for s in sessions), default=None),
        )


@dataclass(frozen=True)
class CountryStarts:
    country: str
    session_starts: int


@dataclass(frozen=True)
class SessionStartsReport:
    hours: int
    start: datetime
    end: datetime
    countries: list[CountryStarts]


@dataclass(frozen=True)
class SeriesPoint:
    bucket_start: datetime
    country: str
    session_starts: int


@dataclass(frozen=True)
class SessionStartsSeries:
    hours: int
    step: str
    start: datetime
    end: datetime
    points: list[SeriesPoint]
