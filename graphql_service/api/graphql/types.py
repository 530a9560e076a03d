"""Strawberry types of the public GraphQL API (the SDL is exported to schema.graphql)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry

from ...domain import sessions as domain
from ...domain.events import EventKind
from ...domain.paging import SessionsPage
from ...domain.sessions import Session


@strawberry.enum(description="Which half of a game session an event reports.")
class EventType(Enum):
    START = "start"
    END = "end"


@strawberry.input(description="One game event. Validated exactly like an event posted to REST /events.")
class EventInput:
    event: EventType
    player_id: str = strawberry.field(description="Non-empty, at most 128 characters, no control characters.")
    session_id: UUID
    ts: datetime = strawberry.field(
        description="ISO-8601; without an offset it means UTC (moved by `sentAt` when given)."
    )
    country: str | None = strawberry.field(
        default=None, description="ISO 3166-1 alpha-2; required on START, ignored on END."
    )

    def as_raw(self) -> dict[str, object]:
        return {
            "event": EventKind(self.event.value).value,
            "player_id": self.player_id,
            "session_id": self.session_id,
            "ts": self.ts,
            "country": self.country,
        }


@strawberry.type
class SubmitEventsResult:
    accepted: int = strawberry.field(description="Events stored (or already stored: re-delivery is harmless).")
    expired: int = strawberry.field(description="Events already older than the retention period; not stored.")


@strawberry.type(name="Session", description="A complete game session: both its start and end were received.")
class SessionType:
    session_id: UUID
    player_id: strawberry.ID
    country: str
    start_ts: datetime
    end_ts: datetime
    duration_seconds: float

    @classmethod
    def from_domain(cls, session: Session) -> SessionType:
        return cls(
            session_id=session.session_id,
            player_id=strawberry.ID(session.player_id),
            country=session.country,
            start_ts=session.start_ts,
            end_ts=session.end_ts,
            duration_seconds=session.duration_seconds,
        )


@strawberry.type(description="One page of a player's sessions, newest end first.")
class SessionPage:
    sessions: list[SessionType]
    next_cursor: str | None = strawberry.field(
        description="Pass as `before` for the next older page; null when nothing is older."
    )

    @classmethod
    def from_domain(cls, page: SessionsPage) -> SessionPage:
        return cls(sessions=[SessionType.from_domain(s) for s in page.sessions], next_cursor=page.next_cursor)


@strawberry.type
class CountrySessionStarts:
    country: str
    session_starts: int


@strawberry.enum(description="The size of a series bucket: a UTC hour or a UTC day.")
class SeriesStep(Enum):
    HOUR = "hour"
    DAY = "day"


@strawberry.type(description="Session starts in one country in one UTC-aligned bucket of a series.")
class SeriesPoint:
    bucket_start: datetime = strawberry.field(description="The start of the UTC hour or day.")
    country: str
    session_starts: int

    @classmethod
    def from_domain(cls, point: domain.SeriesPoint) -> SeriesPoint:
        return cls(bucket_start=point.bucket_start, country=point.country, session_starts=point.session_starts)


@strawberry.type(description="Totals over the player's retained complete sessions.")
class PlayerStats:
    completed_sessions: int
    total_seconds: float
    average_seconds: float | None
    last_session_end: datetime | None
    truncated: bool = strawberry.field(
        description="True when the player has more sessions than one read takes (10,000): the totals "
        "are then over that many of them."
    )

    @classmethod
    def from_domain(cls, stats: domain.PlayerStats) -> PlayerStats:
        return cls(
            completed_sessions=stats.completed_sessions,
            total_seconds=stats.total_seconds,
            average_seconds=stats.average_seconds,
            last_session_end=stats.last_session_end,
            truncated=stats.truncated,
        )
