"""Statements behind session starts per country (cql/004_session_starts.cql and
cql/007_start_rollups.cql), prepared once at start-up. Every statement names its keyspace."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ..domain.events import Event, EventKind
from ..domain.sessions import StoredEvent, micros, version
from .backends import Backend, Prepared, Row


def _partition_rows(rows: list[Row]) -> dict[datetime, BucketState]:
    return {row["bucket"]: BucketState(row["last_write"], row["counted_at"], row["shards"]) for row in rows}


@dataclass(frozen=True)
class MinuteStart:
    """One row of session_starts_by_minute: a start variant and when it was written
    (None on rows from before cql/008)."""

    player_id: str
    variant: StoredEvent
    received_at: datetime | None


@dataclass(frozen=True)
class BucketState:
    last_write: datetime | None
    counted_at: datetime | None
    # A minute's: the largest shard count its rows were written with (None: before cql/007).
    shards: int | None = None


class SessionStartsRepository:
    """Statements behind session starts per country (cql/004_session_starts.cql)."""

    def __init__(self, db: Backend, statements: dict[str, Prepared]) -> None:
        self._db = db
        s = statements
        self._insert_start = s["insert_session_start"]
        self._write_conflict, self._conflicts = s["write_start_conflict"], s["read_start_conflicts"]
        self._minute_countries, self._mark = s["read_minute_starts"], s["mark_start_bucket"]
        self._states, self._set_counted = s["read_start_buckets"], s["set_start_bucket_counted"]
        self._write_count, self._counts = s["write_start_count"], s["read_start_counts"]
        self._record_shards, self._state = s["record_minute_shards"], s["read_start_bucket"]
        self._mark_changed_day, self._changed_days = s["mark_changed_start_day"], s["read_changed_start_days"]

    @classmethod
    async def create(cls, db: Backend, keyspace: str) -> SessionStartsRepository:
        ks = keyspace
        specs: dict[str, tuple[str, bool]] = {}
        specs["insert_session_start"] = (
            f"INSERT INTO {ks}.session_starts_by_minute (minute, shard, country, player_id, session_id, ts, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?",
            True,
        )
        specs["read_minute_starts"] = (
            f"SELECT country, player_id, session_id, ts, received_at FROM {ks}.session_starts_by_minute "
            "WHERE minute = ? AND shard = ?",
            False,
        )
        specs["write_start_conflict"] = (
            f"INSERT INTO {ks}.start_conflicts_by_minute (minute, player_id, session_id) VALUES (?, ?, ?) USING TTL ?",
            True,
        )
        specs["read_start_conflicts"] = (
            f"SELECT player_id, session_id FROM {ks}.start_conflicts_by_minute WHERE minute = ?",
            False,
        )
        specs["mark_start_bucket"] = (
            f"UPDATE {ks}.session_start_buckets USING TTL ? AND TIMESTAMP ? SET last_write = ? "
            "WHERE level = ? AND parent = ? AND bucket = ?",
            True,
        )
        specs["read_start_buckets"] = (
            f"SELECT bucket, last_write, counted_at, shards FROM {ks}.session_start_buckets "
            "WHERE level = ? AND parent = ? AND bucket >= ? AND bucket < ?",
            False,
        )
        specs["read_start_bucket"] = (
            f"SELECT bucket, last_write, counted_at, shards FROM {ks}.session_start_buckets "
            "WHERE level = ? AND parent = ? AND bucket = ?",
            False,
        )
        specs["record_minute_shards"] = (
            f"UPDATE {ks}.session_start_buckets USING TTL ? AND TIMESTAMP ? SET shards = ? "
            "WHERE level = 'minute' AND parent = ? AND bucket = ?",
            True,
        )
        specs["mark_changed_start_day"] = (
            f"INSERT INTO {ks}.changed_start_days_by_minute (written, day) VALUES (?, ?)",
            True,
        )
        specs["read_changed_start_days"] = (
            f"SELECT day FROM {ks}.changed_start_days_by_minute WHERE written = ?",
            False,
        )
        specs["set_start_bucket_counted"] = (
            f"UPDATE {ks}.session_start_buckets USING TTL ? AND TIMESTAMP ? SET counted_at = ? "
            "WHERE level = ? AND parent = ? AND bucket = ?",
            True,
        )
        specs["write_start_count"] = (
            f"INSERT INTO {ks}.session_start_counts (level, parent, bucket, country, starts) "
            "VALUES (?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?",
            True,
        )
        specs["read_start_counts"] = (
            f"SELECT bucket, country, starts FROM {ks}.session_start_counts "
            "WHERE level = ? AND parent = ? AND bucket >= ? AND bucket < ?",
            False,
        )
        prepared = await asyncio.gather(*(db.prepare(name, cql, write=w) for name, (cql, w) in specs.items()))
        return cls(db, dict(zip(specs, prepared, strict=True)))

    async def insert_start(self, minute: datetime, shard: int, event: Event, ttl: int, received_at: datetime) -> None:
        # Written at the variant's version (domain/sessions.py): of two variants sharing a
        # row (same minute and country) the winner's ts stays, whatever order they land in.
        country = event.country or ""
        params = (
            minute,
            shard,
            country,
            event.player_id,
            event.session_id,
            event.ts,
            received_at,
            ttl,
            version(event.ts, country),
        )
        await self._db.execute(self._insert_start, params)

    async def minute_starts(self, minute: datetime, shard: int) -> list[MinuteStart]:
        """Every start row of one shard of a minute."""
        rows = await self._db.execute(self._minute_countries, (minute, shard))
        return [
            MinuteStart(
                row["player_id"],
                # A row from before cql/006 has no ts: the minute stands in for it.
                StoredEvent(row["session_id"], EventKind.START, row["ts"] or minute, row["country"]),
                row["received_at"],
            )
            for row in rows
        ]

    async def write_conflict(self, minute: datetime, player_id: str, session_id: UUID, ttl: int) -> None:
        await self._db.execute(self._write_conflict, (minute, player_id, session_id, ttl))

    async def conflicts(self, minute: datetime) -> set[tuple[str, UUID]]:
        """(player, session) of the sessions with start variants in `minute` and another one."""
        return {(row["player_id"], row["session_id"]) for row in await self._db.execute(self._conflicts, (minute,))}

    async def mark(self, level: str, parent: datetime, bucket: datetime, last_write: datetime, ttl: int) -> None:
        # Written at the timestamp it holds: of two processes' marks the later one wins,
        # whatever order they arrive in, so a mark never moves back in time.
        await self._db.execute(self._mark, (ttl, micros(last_write), last_write, level, parent, bucket))

    async def record_shards(self, parent: datetime, minute: datetime, shards: int, ttl: int) -> None:
        # Written at the shard count as its timestamp: the largest count any process used
        # for this minute wins, whichever write lands last (cql/007_start_rollups.cql).
        await self._db.execute(self._record_shards, (ttl, shards, shards, parent, minute))

    async def mark_changed_day(self, written_minute: datetime, day: datetime) -> None:
        await self._db.execute(self._mark_changed_day, (written_minute, day))

    async def changed_days(self, written_minute: datetime) -> list[datetime]:
        return [row["day"] for row in await self._db.execute(self._changed_days, (written_minute,))]

    async def state(self, level: str, parent: datetime, bucket: datetime) -> BucketState | None:
        return _partition_rows(await self._db.execute(self._state, (level, parent, bucket))).get(bucket)

    async def states(self, level: str, parent: datetime, start: datetime, end: datetime) -> dict[datetime, BucketState]:
        return _partition_rows(await self._db.execute(self._states, (level, parent, start, end)))

    async def set_counted(self, level: str, parent: datetime, bucket: datetime, counted_at: datetime, ttl: int) -> None:
        params = (ttl, micros(counted_at), counted_at, level, parent, bucket)
        await self._db.execute(self._set_counted, params)

    async def write_count(
        self, level: str, parent: datetime, bucket: datetime, country: str, starts: int, ttl: int, as_of: datetime
    ) -> None:
        params = (level, parent, bucket, country, starts, ttl, micros(as_of))
        await self._db.execute(self._write_count, params)

    async def counts(
        self, level: str, parent: datetime, start: datetime, end: datetime
    ) -> list[tuple[datetime, str, int]]:
        rows = await self._db.execute(self._counts, (level, parent, start, end))
        return [(row["bucket"], row["country"], row["starts"]) for row in rows]
