"""Statements behind sessions (cql/003 and cql/005), prepared once at start-up, and the
mapping between their rows and domain objects. Every statement names its keyspace."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ..domain.events import Event, EventKind
from ..domain.sessions import Session, StoredEvent, Unlisting, version
from ..settings import ONE_YEAR_SECONDS
from .backends import Backend, Prepared, Row

# Bounded: anyone may post sessions under any player id, so one request must not read an
# arbitrarily large partition (a year at 10 sessions a day is 3,650 rows).
STATS_MAX_SESSIONS = 10_000
# Pending events one fold takes; the rest wait for the next read of that player.
FOLD_MAX_EVENTS = 2_000
# Statements per single-partition batch: under Cassandra's 5 KiB batch-size warning.
BATCH_STATEMENTS = 40
# Sessions per `session_id IN ?` read.
IN_SESSIONS = 100


def _session(row: Row) -> Session:
    return Session(
        session_id=row["session_id"],
        player_id=row["player_id"],
        country=row["country"] or "",
        start_ts=row["start_ts"],
        end_ts=row["end_ts"],
    )


def _stored(row: Row) -> StoredEvent:
    return StoredEvent(row["session_id"], EventKind(row["kind"]), row["ts"], row["country"])


@dataclass(frozen=True)
class Life:
    """When a stored event was received and how many seconds its row has left."""

    received_at: datetime
    ttl: int


def _lives(rows: list[Row]) -> dict[StoredEvent, Life]:
    # Every row of ours has both; a row written by hand without a TTL gets the default
    # retention rather than forever (or 20 years, which Cassandra 5.0 may refuse).
    return {_stored(r): Life(r["received_at"] or datetime.now(UTC), r["ttl"] or ONE_YEAR_SECONDS) for r in rows}


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class SessionRepository:
    def __init__(self, db: Backend, statements: dict[str, Prepared]) -> None:
        self._db = db
        self._s = statements

    @classmethod
    async def create(cls, db: Backend, keyspace: str) -> SessionRepository:
        ks = keyspace
        events = f"{ks}.session_events_by_player"
        columns = "session_id, kind, ts, country, received_at"
        read = "session_id, kind, ts, country, received_at, ttl(received_at) AS ttl"
        specs: dict[str, tuple[str, bool]] = {
            "write_event": (
                f"INSERT INTO {events} (player_id, folded, {columns}) VALUES (?, false, ?, ?, ?, ?, ?) USING TTL ?",
                True,
            ),
            "read_pending_events": (
                f"SELECT {read} FROM {events} WHERE player_id = ? AND folded = false LIMIT {FOLD_MAX_EVENTS}",
                False,
            ),
            "read_archived_events": (
                f"SELECT {read} FROM {events} WHERE player_id = ? AND folded = true AND session_id IN ?",
                False,
            ),
            "archive_event": (
                f"INSERT INTO {events} (player_id, folded, {columns}) VALUES (?, true, ?, ?, ?, ?, ?) USING TTL ?",
                True,
            ),
            "release_event": (
                f"DELETE FROM {events} WHERE player_id = ? AND folded = false "
                "AND session_id = ? AND kind = ? AND ts = ? AND country = ?",
                True,
            ),
            "list_session": (
                f"INSERT INTO {ks}.completed_sessions_by_player "
                "(player_id, end_ts, session_id, start_ts, country) VALUES (?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?",
                True,
            ),
            "unlist_session": (
                f"DELETE FROM {ks}.completed_sessions_by_player USING TIMESTAMP ? "
                "WHERE player_id = ? AND end_ts = ? AND session_id = ?",
                True,
            ),
            "recent_sessions": (
                f"SELECT player_id, end_ts, session_id, start_ts, country FROM {ks}.completed_sessions_by_player "
                "WHERE player_id = ? LIMIT ?",
                False,
            ),
            # The page after a cursor, in two slices: the clustering order is mixed (end DESC,
            # id ASC) while a tuple relation `(end_ts, session_id) < (?, ?)` compares each
            # column in its natural order, so it would repeat or skip sessions that end in
            # the same millisecond. Rows after (e, s): those at e with a larger id, then
            # every row that ends before e.
            "sessions_ending_with_later_id": (
                f"SELECT player_id, end_ts, session_id, start_ts, country FROM {ks}.completed_sessions_by_player "
                "WHERE player_id = ? AND end_ts = ? AND session_id > ? LIMIT ?",
                False,
            ),
            "sessions_ending_before": (
                f"SELECT player_id, end_ts, session_id, start_ts, country FROM {ks}.completed_sessions_by_player "
                "WHERE player_id = ? AND end_ts < ? LIMIT ?",
                False,
            ),
            "player_completed_sessions": (
                f"SELECT player_id, end_ts, session_id, start_ts, country FROM {ks}.completed_sessions_by_player "
                f"WHERE player_id = ? LIMIT {STATS_MAX_SESSIONS}",
                False,
            ),
        }
        prepared = await asyncio.gather(*(db.prepare(name, cql, write=write) for name, (cql, write) in specs.items()))
        return cls(db, dict(zip(specs, prepared, strict=True)))

    # -- ingest: one blind write per event ------------------------------------------

    async def write_event(self, event: Event, ttl: int, received_at: datetime) -> None:
        params = (event.player_id, event.session_id, event.kind.value, event.ts, event.country or "", received_at, ttl)
        await self._db.execute(self._s["write_event"], params)

    # -- folding pending events into the listing ------------------------------------

    async def pending_events(self, player_id: str) -> dict[StoredEvent, Life]:
        return _lives(await self._db.execute(self._s["read_pending_events"], (player_id,)))

    async def archived_events(self, player_id: str, session_ids: Sequence[UUID]) -> dict[StoredEvent, Life]:
        statement = self._s["read_archived_events"]
        reads = [self._db.execute(statement, (player_id, list(chunk))) for chunk in _chunks(session_ids, IN_SESSIONS)]
        return _lives([row for rows in await asyncio.gather(*reads) for row in rows])

    async def write_listings(
        self, player_id: str, listed: Sequence[tuple[Session, int]], unlisted: Sequence[Unlisting]
    ) -> None:
        """Delete stale listing rows and write current ones, each at the timestamp of its
        session's winning start (see SessionRecord.as_of), so of two folds racing with
        different views the better-informed one wins, whatever the order they land in."""
        statements: list[tuple[Prepared, Sequence[Any]]] = [
            (self._s["unlist_session"], (u.version, player_id, u.session.end_ts, u.session.session_id))
            for u in unlisted
        ]
        statements += [
            (
                self._s["list_session"],
                (player_id, s.end_ts, s.session_id, s.start_ts, s.country, ttl, version(s.start_ts, s.country)),
            )
            for s, ttl in listed
        ]
        await self._batches("fold_listings", statements)

    async def archive(self, player_id: str, events: Sequence[tuple[StoredEvent, Life]]) -> None:
        statement = self._s["archive_event"]
        await self._batches(
            "fold_archive",
            [
                (statement, (player_id, e.session_id, e.kind.value, e.ts, e.country, life.received_at, life.ttl))
                for e, life in events
            ],
        )

    async def release(self, player_id: str, events: Sequence[StoredEvent]) -> None:
        statement = self._s["release_event"]
        await self._batches(
            "fold_release",
            [(statement, (player_id, e.session_id, e.kind.value, e.ts, e.country)) for e in events],
        )

    async def _batches(self, name: str, statements: Sequence[tuple[Prepared, Sequence[Any]]]) -> None:
        # All statements of one call write one partition: single-partition batches, never
        # one batch across players.
        if len(statements) == 1:
            statement, params = statements[0]
            await self._db.execute(statement, params)
            return
        writes: list[Awaitable[None]] = [
            self._db.execute_batch(name, chunk) for chunk in _chunks(statements, BATCH_STATEMENTS)
        ]
        await asyncio.gather(*writes)

    # -- the read model ---------------------------------------------------------------

    async def recent_sessions(self, player_id: str, limit: int) -> list[Session]:
        return [_session(row) for row in await self._db.execute(self._s["recent_sessions"], (player_id, limit))]

    async def sessions_after(self, player_id: str, end_ts: datetime, session_id: UUID, limit: int) -> list[Session]:
        """The next `limit` listed sessions after the row (end_ts, session_id) in listing
        order (newest end first, then session id): both slices at once, concatenated."""
        same_end, older = await asyncio.gather(
            self._db.execute(self._s["sessions_ending_with_later_id"], (player_id, end_ts, session_id, limit)),
            self._db.execute(self._s["sessions_ending_before"], (player_id, end_ts, limit)),
        )
        return [_session(row) for row in [*same_end, *older][:limit]]

    async def all_sessions(self, player_id: str) -> list[Session]:
        """Every retained listed session of the player (at most STATS_MAX_SESSIONS), newest first."""
        rows = await self._db.execute(self._s["player_completed_sessions"], (player_id,))
        return [_session(row) for row in rows]
