"""Prepared statements and the mapping between Cassandra rows and domain objects.

Every statement is prepared once when the repository is built (at start-up) and names
its keyspace explicitly, so one Session can serve any keyspace the settings name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

from .db import Database, Row, Statement
from .domain import Event, EventKind, Session

STATS_MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class SessionHalves:
    """What is stored for one session so far; either half may still be missing."""

    player_id: str
    session_id: UUID
    start_ts: datetime | None
    country: str | None
    end_ts: datetime | None

    def with_events(self, events: Iterable[Event]) -> SessionHalves:
        """These halves as they are once `events` are written over them."""
        halves = self
        for e in events:
            if e.kind is EventKind.START:
                halves = replace(halves, start_ts=e.ts, country=e.country)
            else:
                halves = replace(halves, end_ts=e.ts)
        return halves

    def start_event(self) -> Event | None:
        """The start event these halves hold, if any."""
        if self.start_ts is None or self.country is None:
            return None
        return Event(EventKind.START, self.player_id, self.session_id, self.start_ts, self.country)

    def holds(self, event: Event) -> bool:
        """True when this event's half is already stored with the same values."""
        if event.kind is EventKind.START:
            return self.start_ts == event.ts and self.country == event.country
        return self.end_ts == event.ts

    def complete(self) -> Session | None:
        if self.start_ts is None or self.end_ts is None:
            return None
        return Session(
            session_id=self.session_id,
            player_id=self.player_id,
            country=self.country or "",
            start_ts=self.start_ts,
            end_ts=self.end_ts,
        )


def _utc(value: datetime | None) -> datetime | None:
    # The driver hands back naive datetimes that are UTC.
    return None if value is None else value.replace(tzinfo=UTC)


def _session(row: Row) -> Session:
    return Session(
        session_id=row["session_id"],
        player_id=row["player_id"],
        country=row["country"] or "",
        start_ts=row["start_ts"].replace(tzinfo=UTC),
        end_ts=row["end_ts"].replace(tzinfo=UTC),
    )


class SessionRepository:
    def __init__(self, db: Database, keyspace: str) -> None:
        ks = keyspace
        self._db = db
        self._write_start: Statement = db.prepare(
            "write_start",
            f"INSERT INTO {ks}.session_halves_by_id (player_id, session_id, start_ts, country) "
            "VALUES (?, ?, ?, ?) USING TTL ?",
            write=True,
        )
        self._write_end = db.prepare(
            "write_end",
            f"INSERT INTO {ks}.session_halves_by_id (player_id, session_id, end_ts) VALUES (?, ?, ?) USING TTL ?",
            write=True,
        )
        self._read_halves = db.prepare(
            "read_halves",
            f"SELECT start_ts, country, end_ts FROM {ks}.session_halves_by_id WHERE player_id = ? AND session_id = ?",
            write=False,
        )
        self._write_completed = db.prepare(
            "write_completed",
            f"INSERT INTO {ks}.completed_sessions_by_player "
            "(player_id, end_ts, session_id, start_ts, country) VALUES (?, ?, ?, ?, ?) USING TTL ?",
            write=True,
        )
        self._all_completed = db.prepare(
            "player_completed_sessions",
            # Bounded: anyone may post sessions under any player id, so one request must not
            # read an arbitrarily large partition (a year at 10 sessions a day is 3,650 rows).
            f"SELECT start_ts, end_ts FROM {ks}.completed_sessions_by_player WHERE player_id = ? "
            f"LIMIT {STATS_MAX_SESSIONS}",
            write=False,
        )
        self._recent = db.prepare(
            "recent_sessions",
            f"SELECT player_id, end_ts, session_id, start_ts, country FROM {ks}.completed_sessions_by_player "
            "WHERE player_id = ? LIMIT ?",
            write=False,
        )

    @classmethod
    async def create(cls, db: Database, keyspace: str) -> SessionRepository:
        # Preparing blocks on a round trip per statement: keep it off the event loop.
        return await asyncio.to_thread(cls, db, keyspace)

    async def write_half(self, event: Event, ttl: int) -> None:
        if event.kind is EventKind.START:
            params: tuple[object, ...] = (event.player_id, event.session_id, event.ts, event.country, ttl)
            await self._db.execute(self._write_start, params)
        else:
            await self._db.execute(self._write_end, (event.player_id, event.session_id, event.ts, ttl))

    async def read_halves(self, player_id: str, session_id: UUID) -> SessionHalves | None:
        rows = await self._db.execute(self._read_halves, (player_id, session_id))
        if not rows:
            return None
        row = rows[0]
        return SessionHalves(
            player_id=player_id,
            session_id=session_id,
            start_ts=_utc(row["start_ts"]),
            country=row["country"],
            end_ts=_utc(row["end_ts"]),
        )

    async def write_completed(self, session: Session, ttl: int) -> None:
        params = (session.player_id, session.end_ts, session.session_id, session.start_ts, session.country, ttl)
        await self._db.execute(self._write_completed, params)

    async def session_spans(self, player_id: str) -> list[tuple[datetime, datetime]]:
        """(start, end) of every retained completed session of the player, newest first."""
        rows = await self._db.execute(self._all_completed, (player_id,))
        return [(row["start_ts"].replace(tzinfo=UTC), row["end_ts"].replace(tzinfo=UTC)) for row in rows]

    async def recent_sessions(self, player_id: str, limit: int) -> list[Session]:
        return [_session(row) for row in await self._db.execute(self._recent, (player_id, limit))]


def _partition_rows(rows: list[Row]) -> dict[datetime, BucketState]:
    return {
        row["bucket"].replace(tzinfo=UTC): BucketState(_utc(row["last_write"]), _utc(row["counted_at"])) for row in rows
    }


@dataclass(frozen=True)
class BucketState:
    last_write: datetime | None
    counted_at: datetime | None


def _micros(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


class SessionStartsRepository:
    """Statements behind session starts per country (cql/004_session_starts.cql)."""

    def __init__(self, db: Database, keyspace: str) -> None:
        ks = keyspace
        self._db = db
        self._insert_start = db.prepare(
            "insert_session_start",
            f"INSERT INTO {ks}.session_starts_by_minute (minute, shard, country, player_id, session_id) "
            "VALUES (?, ?, ?, ?, ?) USING TTL ?",
            write=True,
        )
        self._delete_start = db.prepare(
            "delete_session_start",
            f"DELETE FROM {ks}.session_starts_by_minute "
            "WHERE minute = ? AND shard = ? AND country = ? AND player_id = ? AND session_id = ?",
            write=True,
        )
        self._minute_countries = db.prepare(
            "read_minute_starts",
            f"SELECT country FROM {ks}.session_starts_by_minute WHERE minute = ? AND shard = ?",
            write=False,
        )
        self._mark = db.prepare(
            "mark_start_bucket",
            f"UPDATE {ks}.session_start_buckets USING TTL ? AND TIMESTAMP ? SET last_write = ? "
            "WHERE level = ? AND parent = ? AND bucket = ?",
            write=True,
        )
        self._states = db.prepare(
            "read_start_buckets",
            f"SELECT bucket, last_write, counted_at FROM {ks}.session_start_buckets "
            "WHERE level = ? AND parent = ? AND bucket >= ? AND bucket < ?",
            write=False,
        )
        self._set_counted = db.prepare(
            "set_start_bucket_counted",
            f"UPDATE {ks}.session_start_buckets USING TTL ? AND TIMESTAMP ? SET counted_at = ? "
            "WHERE level = ? AND parent = ? AND bucket = ?",
            write=True,
        )
        self._write_count = db.prepare(
            "write_start_count",
            f"INSERT INTO {ks}.session_start_counts (level, parent, bucket, country, starts) "
            "VALUES (?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?",
            write=True,
        )
        self._counts = db.prepare(
            "read_start_counts",
            f"SELECT bucket, country, starts FROM {ks}.session_start_counts "
            "WHERE level = ? AND parent = ? AND bucket >= ? AND bucket < ?",
            write=False,
        )

    @classmethod
    async def create(cls, db: Database, keyspace: str) -> SessionStartsRepository:
        return await asyncio.to_thread(cls, db, keyspace)

    async def insert_start(self, minute: datetime, shard: int, event: Event, ttl: int) -> None:
        params = (minute, shard, event.country, event.player_id, event.session_id, ttl)
        await self._db.execute(self._insert_start, params)

    async def delete_start(self, minute: datetime, shard: int, event: Event) -> None:
        params = (minute, shard, event.country, event.player_id, event.session_id)
        await self._db.execute(self._delete_start, params)

    async def minute_countries(self, minute: datetime, shard: int) -> list[str]:
        return [row["country"] for row in await self._db.execute(self._minute_countries, (minute, shard))]

    async def mark(self, level: str, parent: datetime, bucket: datetime, last_write: datetime, ttl: int) -> None:
        # Written at the timestamp it holds: of two processes' marks the later one wins,
        # whatever order they arrive in, so a mark never moves back in time.
        await self._db.execute(self._mark, (ttl, _micros(last_write), last_write, level, parent, bucket))

    async def states(self, level: str, parent: datetime, start: datetime, end: datetime) -> dict[datetime, BucketState]:
        return _partition_rows(await self._db.execute(self._states, (level, parent, start, end)))

    async def set_counted(self, level: str, parent: datetime, bucket: datetime, counted_at: datetime, ttl: int) -> None:
        params = (ttl, _micros(counted_at), counted_at, level, parent, bucket)
        await self._db.execute(self._set_counted, params)

    async def write_count(
        self, level: str, parent: datetime, bucket: datetime, country: str, starts: int, ttl: int, as_of: datetime
    ) -> None:
        params = (level, parent, bucket, country, starts, ttl, _micros(as_of))
        await self._db.execute(self._write_count, params)

    async def counts(
        self, level: str, parent: datetime, start: datetime, end: datetime
    ) -> list[tuple[datetime, str, int]]:
        rows = await self._db.execute(self._counts, (level, parent, start, end))
        return [(row["bucket"].replace(tzinfo=UTC), row["country"], row["starts"]) for row in rows]
