"""The facade both interfaces call: REST shims and GraphQL resolvers hold a
`SessionService` and nothing else, so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .domain import Session, SubmitResult
from .ingest import IngestOutcome, Observe, submit_events
from .queries import checked_limit, checked_player_id
from .repository import SessionRepository
from .settings import Settings


class SessionService:
    def __init__(self, repo: SessionRepository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.observers: list[Observe] = []

    def _observe(self, outcome: IngestOutcome, count: int) -> None:
        if count:
            for observer in self.observers:
                observer(outcome, count)

    async def submit_events(self, raw_events: Sequence[object], *, now: datetime | None = None) -> SubmitResult:
        return await submit_events(self.repo, raw_events, self.settings, now=now, observe=self._observe)

    async def recent_sessions(self, player_id: object, limit: object = None) -> list[Session]:
        """The player's last `limit` complete sessions, newest end first."""
        return await self.repo.recent_sessions(checked_player_id(player_id), checked_limit(limit))
