"""Statements behind sessions (cql/008_sessions_by_player.cql), prepared once at start-up,
and the mapping between their rows and domain objects. Every statement names its keyspace.

Ingest writes blind; reads only read. Why the cells' write timestamps make that right under
retries and races: docs/architecture.md, "The session store"."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ..domain.events import Event
from ..domain.sessions import STATS_MAX_SESSIONS, EndRow, Halves, micros, version
from .backends import Backend, Prepared, Row
from .backends.base import utc

# The clustering position of session rows in a player's partition (cql/008): never an
# event's time, since nothing older than a year is stored.
SESSION_ROW = datetime(1970, 1, 1, tzinfo=UTC)
# Sessions per `session_id IN ?` read.
IN_SESSIONS = 100


def _halves(row: Row) -> Halves:
    return Halves(row["session_id"], row["start_ts"], row["country"] or "", row["last_end"])


@dataclass(frozen=True)
class StartCells:
    """What a session row says of its start, for the per-country recount (core/starts.py)."""

    start_ts: datetime | None
    country: str
    minutes: frozenset[datetime]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class SessionRepository:
    def __init__(self, db: Backend, statements: dict[str, Prepared]) -> None:
        self._db = db
        self._s = statements

    @classmethod
    async def create(cls, db: Backend, keyspace: str) -> SessionRepository:
        table = f"{keyspace}.sessions_by_player"
        session_row = "WHERE player_id = ? AND end_ts = ? AND session_id = ?"
        specs: dict[str, tuple[str, bool]] = {
            # Ingest. The cells' timestamps order variants as domain/sessions.py's `winner`
            # does, so the winner of each half stays whatever order the writes land in.
            "write_start": (
                f"UPDATE {table} USING TTL ? AND TIMESTAMP ? "
                f"SET start_ts = ?, country = ?, start_minutes = start_minutes + ? {session_row}",
                True,
            ),
            "write_end_row": (
                f"INSERT INTO {table} (player_id, end_ts, session_id) VALUES (?, ?, ?) USING TTL ?",
                True,
            ),
            "write_end": (f"UPDATE {table} USING TTL ? AND TIMESTAMP ? SET last_end = ? {session_row}", True),
            # Reads: the end-ordered index, newest first, then the sessions it names.
            "recent_ends": (
                f"SELECT end_ts, session_id FROM {table} WHERE player_id = ? AND end_ts > ? LIMIT ?",
                False,
            ),
            # The rows after a cursor, in two slices: the clustering order is mixed (end DESC,
            # id ASC) while a tuple relation `(end_ts, session_id) < (?, ?)` compares each
            # column in its natural order, so it would repeat or skip sessions that end in
            # the same millisecond. Rows after (e, s): those at e with a larger id, then
            # every row that ends before e (and after the session rows).
            "ends_at_with_later_id": (
                f"SELECT end_ts, session_id FROM {table} WHERE player_id = ? AND end_ts = ? AND session_id > ? LIMIT ?",
                False,
            ),
            "ends_before": (
                f"SELECT end_ts, session_id FROM {table} WHERE player_id = ? AND end_ts < ? AND end_ts > ? LIMIT ?",
                False,
            ),
            "session_halves": (
                f"SELECT session_id, start_ts, country, last_end FROM {table} "
                "WHERE player_id = ? AND end_ts = ? AND session_id IN ?",
                False,
            ),
            "player_sessions": (
                f"SELECT session_id, start_ts, country, last_end FROM {table} "
                f"WHERE player_id = ? AND end_ts = ? LIMIT {STATS_MAX_SESSIONS + 1}",
                False,
            ),
            "session_start_cells": (
                f"SELECT session_id, start_ts, country, start_minutes FROM {table} "
                "WHERE player_id = ? AND end_ts = ? AND session_id IN ?",
                False,
            ),
        }
        prepared = await asyncio.gather(*(db.prepare(name, cql, write=write) for name, (cql, write) in specs.items()))
        return cls(db, dict(zip(specs, prepared, strict=True)))

    # -- ingest: blind writes, one statement per event ---------------------------------

    async def write_start(self, event: Event, ttl: int, minute: datetime) -> None:
        """The start's cells at its version; `minute` joins the minutes its variants are
        counted in (a set: adding one is idempotent and needs no read)."""
        country = event.country or ""
        params = (
            ttl,
            version(event.ts, country),
            event.ts,
            country,
            {minute},
            event.player_id,
            SESSION_ROW,
            event.session_id,
        )
        await self._db.execute(self._s["write_start"], params)

    async def write_end(self, event: Event, ttl: int) -> None:
        """The end's index row and the session's end cell, in one single-partition batch:
        one round trip, and the index row never lands without the cell that judges it."""
        await self._db.execute_batch(
            "write_end",
            [
                (self._s["write_end_row"], (event.player_id, event.ts, event.session_id, ttl)),
                (
                    self._s["write_end"],
                    (ttl, micros(event.ts), event.ts, event.player_id, SESSION_ROW, event.session_id),
                ),
            ],
        )

    # -- reads ------------------------------------------------------------------------

    async def ends(self, player_id: str, after: EndRow | None, limit: int) -> list[EndRow]:
        """The next `limit` index rows after `after` (None: from the newest end)."""
        if after is None:
            rows = await self._db.execute(self._s["recent_ends"], (player_id, SESSION_ROW, limit))
        else:
            same_end, older = await asyncio.gather(
                self._db.execute(self._s["ends_at_with_later_id"], (player_id, after.end_ts, after.session_id, limit)),
                self._db.execute(self._s["ends_before"], (player_id, after.end_ts, SESSION_ROW, limit)),
            )
            rows = [*same_end, *older][:limit]
        return [EndRow(row["end_ts"], row["session_id"]) for row in rows]

    async def halves(self, player_id: str, session_ids: Sequence[UUID]) -> dict[UUID, Halves]:
        rows = await self._in_sessions("session_halves", player_id, session_ids)
        return {row["session_id"]: _halves(row) for row in rows}

    async def all_halves(self, player_id: str) -> tuple[list[Halves], bool]:
        """Every session row of the player, at most STATS_MAX_SESSIONS of them, and whether
        there were more."""
        rows = await self._db.execute(self._s["player_sessions"], (player_id, SESSION_ROW))
        return [_halves(row) for row in rows[:STATS_MAX_SESSIONS]], len(rows) > STATS_MAX_SESSIONS

    async def start_cells(self, player_id: str, session_ids: Sequence[UUID]) -> dict[UUID, StartCells]:
        rows = await self._in_sessions("session_start_cells", player_id, session_ids)
        return {
            row["session_id"]: StartCells(
                row["start_ts"],
                row["country"] or "",
                # Elements of a collection come back as the driver hands them (naive or aware).
                frozenset(m for m in map(utc, row["start_minutes"] or ()) if m is not None),
            )
            for row in rows
        }

    async def _in_sessions(self, name: str, player_id: str, session_ids: Sequence[UUID]) -> list[Row]:
        statement = self._s[name]
        ids = sorted(set(session_ids))
        reads = [
            self._db.execute(statement, (player_id, SESSION_ROW, list(chunk))) for chunk in _chunks(ids, IN_SESSIONS)
        ]
        return [row for rows in await asyncio.gather(*reads) for row in rows]
