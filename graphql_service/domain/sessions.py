"""Sessions: how the stored halves of one session become at most one listed session.

Every event is a variant of its session's start or end (an identical re-delivery is the
same variant). Of conflicting variants one wins, by a rule that needs no clock and no
arrival order: the latest `ts` (for starts, then the larger country code). The store
writes each variant at a write timestamp that orders variants the same way (`version`,
`micros`), so Cassandra keeps the winner of each half by itself. A session is listed when
both winners exist and the end is not before the start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
class Halves:
    """A session row as Cassandra reconciled it: the winning start's cells and the winning
    end (each None while no variant of that half has arrived, or after it expired)."""

    session_id: UUID
    start_ts: datetime | None
    country: str
    last_end: datetime | None


@dataclass(frozen=True)
class EndRow:
    """One row of a player's end-ordered index: an end variant of a session."""

    end_ts: datetime
    session_id: UUID


def listed(player_id: str, row: EndRow, halves: Halves | None) -> Session | None:
    """The session `row` lists, or None: a row is listed while it is its session's winning
    end and the session has a start that is not after it. Losing end variants, ends whose
    start has not arrived yet and ends before their start are index rows that list nothing.
    At most one row of a session is its winning end, so each session is listed once."""
    if halves is None or halves.start_ts is None or halves.last_end != row.end_ts:
        return None
    if not is_valid_session(halves.start_ts, row.end_ts):
        return None
    return Session(row.session_id, player_id, halves.country, halves.start_ts, row.end_ts)


def completed(player_id: str, halves: Halves) -> Session | None:
    """The complete session a session row holds (both halves, in order), or None."""
    if halves.start_ts is None or halves.last_end is None:
        return None
    if not is_valid_session(halves.start_ts, halves.last_end):
        return None
    return Session(halves.session_id, player_id, halves.country, halves.start_ts, halves.last_end)


# Sessions one stats read takes at most: anyone may post sessions under any player id, so
# one request must not read an arbitrarily large partition (a year at 25 sessions a day).
STATS_MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class PlayerStats:
    """Totals over the player's retained complete sessions."""

    completed_sessions: int
    total_seconds: float
    last_session_end: datetime | None
    # True when the player has more sessions than one read takes (STATS_MAX_SESSIONS): the
    # totals are then over that many of them, not all.
    truncated: bool = False

    @property
    def average_seconds(self) -> float | None:
        return self.total_seconds / self.completed_sessions if self.completed_sessions else None

    @classmethod
    def of(cls, sessions: Sequence[Session], *, truncated: bool = False) -> PlayerStats:
        return cls(
            completed_sessions=len(sessions),
            total_seconds=sum(s.duration_seconds for s in sessions),
            last_session_end=max((s.end_ts for s in sessions), default=None),
            truncated=truncated,
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
