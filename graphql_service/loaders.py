"""Per-request data loaders. Built in the GraphQL context for every request: a loader
kept at module level would cache forever and bind to one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiodataloader import DataLoader

from .domain import PlayerStats, Session
from .repository import SessionRepository

SessionsKey = tuple[str, int]  # (player id, how many of the newest sessions)


class RecentSessionsLoader(DataLoader[SessionsKey, list[Session]]):
    """Collects every `player.sessions` field of one query and reads Cassandra once per
    player, all players concurrently. Two aliases asking for the same player with
    different `last` values share one read of the larger size."""

    def __init__(self, repo: SessionRepository) -> None:
        super().__init__()
        self._repo = repo

    async def batch_load_fn(self, keys: Sequence[SessionsKey]) -> list[list[Session]]:
        largest: dict[str, int] = {}
        for player_id, limit in keys:
            largest[player_id] = max(limit, largest.get(player_id, 0))
        players = list(largest)
        fetched = await asyncio.gather(*(self._repo.recent_sessions(p, largest[p]) for p in players))
        by_player = dict(zip(players, fetched, strict=True))
        return [by_player[player_id][:limit] for player_id, limit in keys]


class PlayerStatsLoader(DataLoader[str, PlayerStats]):
    """`player.stats` of one query: one (bounded) partition read per distinct player."""

    def __init__(self, repo: SessionRepository) -> None:
        super().__init__()
        self._repo = repo

    async def batch_load_fn(self, keys: Sequence[str]) -> list[PlayerStats]:
        spans = await asyncio.gather(*(self._repo.session_spans(player_id) for player_id in keys))
        return [PlayerStats.of(found) for found in spans]


class Loaders:
    def __init__(self, repo: SessionRepository) -> None:
        self.recent_sessions = RecentSessionsLoader(repo)
        self.player_stats = PlayerStatsLoader(repo)
