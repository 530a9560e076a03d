"""Per-request data loaders over the service's batch methods. Built in the GraphQL context
for every request: a loader kept at module level would cache forever and bind to one
event loop."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader

from ...core.service import SessionService
from ...domain.errors import InvalidInput
from ...domain.sessions import PlayerStats, Session

SessionsKey = tuple[str, int | None]  # (player id, how many of the newest sessions)


class RecentSessionsLoader(DataLoader[SessionsKey, list[Session]]):
    """Every `player.sessions` field of one query, in one call of the service: one read per
    distinct player, all players concurrently."""

    def __init__(self, service: SessionService, cache: bool = True) -> None:
        super().__init__(cache=cache)
        self._service = service

    # An exception in the list fails that key's load only (aiodataloader's contract).
    async def batch_load_fn(self, keys: Sequence[SessionsKey]) -> list[list[Session] | InvalidInput]:  # type: ignore[override]
        return await self._service.recent_sessions_many(keys)


class PlayerStatsLoader(DataLoader[str, PlayerStats]):
    """`player.stats` of one query: one (bounded) read per distinct player."""

    def __init__(self, service: SessionService, cache: bool = True) -> None:
        super().__init__(cache=cache)
        self._service = service

    async def batch_load_fn(self, keys: Sequence[str]) -> list[PlayerStats | InvalidInput]:  # type: ignore[override]
        return await self._service.player_stats_many(keys)


class Loaders:
    def __init__(self, service: SessionService, cache: bool = True) -> None:
        self.recent_sessions = RecentSessionsLoader(service, cache)
        self.player_stats = PlayerStatsLoader(service, cache)
