"""The facade both interfaces call: REST shims and GraphQL resolvers hold a
`SessionService` and nothing else, so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .db import Database
from .domain import CountryStarts, PlayerStats, Session, SessionStartsReport, SubmitResult
from .ingest import IngestOutcome, Observe, Retention, submit_events
from .queries import checked_hours, checked_limit, checked_player_id
from .repository import SessionRepository, SessionStartsRepository
from .session_starts import SessionStarts
from .settings import Settings


class SessionService:
    def __init__(self, repo: SessionRepository, starts: SessionStarts, settings: Settings) -> None:
        self.repo = repo
        self.starts = starts
        self.settings = settings
        self.observers: list[Observe] = []

    @classmethod
    async def create(cls, db: Database, settings: Settings) -> SessionService:
        """Prepare every statement (once, at start-up) and wire the domain together."""
        repo = await SessionRepository.create(db, settings.keyspace)
        starts_repo = await SessionStartsRepository.create(db, settings.keyspace)
        starts = SessionStarts(starts_repo, Retention.from_settings(settings).time_to_live)
        return cls(repo, starts, settings)

    def _observe(self, outcome: IngestOutcome, count: int) -> None:
        if count:
            for observer in self.observers:
                observer(outcome, count)

    async def submit_events(self, raw_events: Sequence[object], *, now: datetime | None = None) -> SubmitResult:
        return await submit_events(
            self.repo, raw_events, self.settings, now=now, observe=self._observe, starts=self.starts
        )

    async def recent_sessions(self, player_id: object, limit: object = None) -> list[Session]:
        """The player's last `limit` complete sessions, newest end first."""
        return await self.repo.recent_sessions(checked_player_id(player_id), checked_limit(limit))

    async def player_stats(self, player_id: object) -> PlayerStats:
        return PlayerStats.of(await self.repo.session_spans(checked_player_id(player_id)))

    async def session_starts(self, hours: object, *, now: datetime | None = None) -> SessionStartsReport:
        """Session starts per country in the last `hours` (edges on whole minutes), largest first."""
        checked = checked_hours(hours)
        start, end, ranked = await self.starts.count(checked, now)
        return SessionStartsReport(checked, start, end, [CountryStarts(c, n) for c, n in ranked])
