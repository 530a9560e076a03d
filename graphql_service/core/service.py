"""The facade both interfaces call: REST shims, GraphQL resolvers and their loaders hold a
`SessionService` and nothing else, so the two cannot drift apart. Arguments are checked
here, once, for both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from ..domain.arguments import (
    checked_country_filter,
    checked_hours,
    checked_limit,
    checked_player_id,
    checked_series_hours,
    checked_step,
)
from ..domain.errors import InvalidInput
from ..domain.events import SubmitResult
from ..domain.paging import Position, SessionsPage, decode_cursor, encode_cursor
from ..domain.retention import Retention
from ..domain.sessions import (
    CountryStarts,
    EndRow,
    PlayerStats,
    SeriesPoint,
    Session,
    SessionStartsReport,
    SessionStartsSeries,
)
from ..settings import Settings
from ..store.backends import Backend
from ..store.sessions import SessionRepository
from ..store.starts import SessionStartsRepository
from .history import History
from .ingest import Ingest
from .live import Feeds
from .outcomes import Observe, Outcome
from .starts import SessionStarts

T = TypeVar("T")
K = TypeVar("K")


def _each_checked(keys: Sequence[K], check: Callable[[K], T]) -> list[T | InvalidInput]:
    """Each key checked on its own: a loader's bad key fails only that key's field."""
    checked: list[T | InvalidInput] = []
    for key in keys:
        try:
            checked.append(check(key))
        except InvalidInput as exc:
            checked.append(exc)
    return checked


class SessionService:
    def __init__(self, repo: SessionRepository, starts: SessionStarts, settings: Settings) -> None:
        self.settings = settings
        self.observers: list[Observe] = []
        self._repo = repo
        self._starts = starts
        self._ingest = Ingest(repo, starts, settings, self._observe)
        self._history = History(repo)
        # At most SUBSCRIPTION_MAX_FEEDS distinct live subscriptions per process (core/live.py).
        self.feeds = Feeds(settings.subscription_poll_seconds, max_feeds=settings.subscription_max_feeds)

    @property
    def ingest(self) -> Ingest:
        """The write path, for `upgrade` (tools/upgrade.py), which replays old rows through it."""
        return self._ingest

    @property
    def starts(self) -> SessionStarts:
        """The per-country counts, for the background settler and `import` (core/settling.py)."""
        return self._starts

    @classmethod
    async def create(cls, db: Backend, settings: Settings) -> SessionService:
        """Prepare every statement (once, at start-up) and wire the core together."""
        repo, starts_repo = await asyncio.gather(
            SessionRepository.create(db, settings.keyspace), SessionStartsRepository.create(db, settings.keyspace)
        )
        starts = SessionStarts(
            starts_repo, repo, Retention.from_settings(settings).time_to_live, shards=settings.start_shards
        )
        return cls(repo, starts, settings)

    def _observe(self, outcome: Outcome, count: int) -> None:
        if count:
            for observer in self.observers:
                observer(outcome, count)

    def checked_player_id(self, value: object) -> str:
        """A checked player id (GraphQL's `player(id:)` asks before any field is read)."""
        return checked_player_id(value)

    async def submit_events(
        self, raw_events: Sequence[object], *, sent_at: object = None, now: datetime | None = None
    ) -> SubmitResult:
        """Store a batch; `sent_at` (optional) corrects every `ts` for the client's clock."""
        return await self._ingest.submit(raw_events, now, sent_at)

    async def recent_sessions(self, player_id: object, limit: object = None) -> list[Session]:
        """The player's last `limit` complete sessions, newest end first."""
        return await self._recent(checked_player_id(player_id), checked_limit(limit))

    async def recent_sessions_many(self, keys: Sequence[tuple[object, object]]) -> list[list[Session] | InvalidInput]:
        """`recent_sessions` for many (player, limit) pairs at once (the GraphQL loader):
        one read per distinct player, of the largest limit asked for it."""
        checked = _each_checked(keys, lambda key: (checked_player_id(key[0]), checked_limit(key[1])))
        largest: dict[str, int] = {}
        for key in checked:
            if not isinstance(key, InvalidInput):
                largest[key[0]] = max(key[1], largest.get(key[0], 0))
        players = list(largest)
        fetched = dict(zip(players, await asyncio.gather(*(self._recent(p, largest[p]) for p in players)), strict=True))
        return [key if isinstance(key, InvalidInput) else fetched[key[0]][: key[1]] for key in checked]

    async def _recent(self, player_id: str, limit: int) -> list[Session]:
        return (await self._history.listed(player_id, limit)).sessions

    async def sessions_page(self, player_id: object, limit: object = None, before: object = None) -> SessionsPage:
        """One page of the player's complete sessions, newest end first: the newest `limit`,
        or with `before` (a previous page's `next_cursor`) the `limit` after that page.
        A page cut short by the scan bound (core/history.py) still has a `next_cursor`."""
        player, count = checked_player_id(player_id), checked_limit(limit)
        after = None if before is None or before == "" else decode_cursor(before)
        # One session more than asked: whether anything is older decides next_cursor.
        found = await self._history.listed(
            player, count + 1, None if after is None else EndRow(after.end_ts, after.session_id)
        )
        page = found.sessions[:count]
        if len(found.sessions) > count:
            return SessionsPage(page, encode_cursor(Position.after(page[-1])))
        if found.stopped_at is not None:
            stop = found.stopped_at
            return SessionsPage(page, encode_cursor(Position(stop.end_ts, stop.session_id)))
        return SessionsPage(page, None)

    async def player_stats(self, player_id: object) -> PlayerStats:
        stats = (await self.player_stats_many([player_id]))[0]
        if isinstance(stats, InvalidInput):
            raise stats
        return stats

    async def player_stats_many(self, player_ids: Sequence[object]) -> list[PlayerStats | InvalidInput]:
        checked = _each_checked(player_ids, checked_player_id)
        players = list(dict.fromkeys(p for p in checked if isinstance(p, str)))
        stats = dict(zip(players, await asyncio.gather(*(self._stats(p) for p in players)), strict=True))
        return [p if isinstance(p, InvalidInput) else stats[p] for p in checked]

    async def _stats(self, player_id: str) -> PlayerStats:
        return await self._history.stats(player_id)

    async def session_starts(self, hours: object, *, now: datetime | None = None) -> SessionStartsReport:
        """Session starts per country in the last `hours` (edges on whole minutes), largest first."""
        checked = checked_hours(hours)
        start, end, ranked = await self._starts.count(checked, now)
        return SessionStartsReport(checked, start, end, [CountryStarts(c, n) for c, n in ranked])

    async def session_starts_series(
        self, hours: object, step: object, country: object = None, *, now: datetime | None = None
    ) -> SessionStartsSeries:
        """Session starts per UTC hour or day and country over the window of `session_starts`."""
        checked_step_ = checked_step(step)
        checked = checked_series_hours(hours, checked_step_)
        wanted = checked_country_filter(country)
        start, end, rows = await self._starts.series(checked, checked_step_, wanted, now)
        points = [SeriesPoint(at, c, n) for at, c, n in rows]
        return SessionStartsSeries(checked, checked_step_.value, start, end, points)

    # -- live updates (GraphQL subscriptions): what the database says, polled ------------

    def session_starts_updates(self, hours: object) -> AsyncGenerator[list[CountryStarts], None]:
        """`session_starts(hours).countries` now, then whenever it changes (the window moving
        on alone is not a change). Arguments are checked here, before anything is watched."""
        checked = checked_hours(hours)

        async def countries() -> list[CountryStarts]:
            return (await self.session_starts(checked)).countries

        return self.feeds.watch(("session_starts", checked), countries)

    def player_sessions_updates(self, player_id: object, limit: object = None) -> AsyncGenerator[list[Session], None]:
        """`recent_sessions(player_id, limit)` now, then whenever it changes (a session
        completes, or a later event changes one)."""
        player, count = checked_player_id(player_id), checked_limit(limit)
        return self.feeds.watch(("player_sessions", player, count), lambda: self._recent(player, count))
