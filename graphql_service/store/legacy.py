"""The tables of the store before cql/008 (session_events_by_player, from cql/005), read
only by `upgrade` (tools/upgrade.py) to carry their events over. Nothing writes them any more.

The scan goes by partition token so that an interrupted upgrade resumes after the last
partition it finished instead of from the start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from ..domain.events import Event, EventKind
from .backends import Backend, Prepared

# The smallest partition token (Murmur3Partitioner): a scan from here reads every partition.
FIRST_TOKEN = -(2**63)


@dataclass(frozen=True)
class LegacyEvent:
    token: int
    event: Event
    # Seconds its row had left; None on a row written without a TTL.
    ttl: int | None
    received_at: datetime | None


@dataclass(frozen=True)
class Progress:
    next_token: int
    events: int
    finished_at: datetime | None


class LegacyEvents:
    def __init__(self, db: Backend, scan: Prepared, read_progress: Prepared, save_progress: Prepared) -> None:
        self._db = db
        self._scan = scan
        self._read_progress = read_progress
        self._save_progress = save_progress

    @classmethod
    async def create(cls, db: Backend, keyspace: str) -> LegacyEvents:
        scan = await db.prepare(
            "scan_legacy_events",
            "SELECT token(player_id, folded) AS partition_token, player_id, session_id, kind, ts, country, "
            f"received_at, ttl(received_at) AS ttl FROM {keyspace}.session_events_by_player "
            "WHERE token(player_id, folded) >= ?",
            write=False,
        )
        read_progress = await db.prepare(
            "read_upgrade_progress",
            f"SELECT next_token, events, finished_at FROM {keyspace}.upgrade_progress WHERE name = 'session_events'",
            write=False,
        )
        save_progress = await db.prepare(
            "save_upgrade_progress",
            f"INSERT INTO {keyspace}.upgrade_progress (name, next_token, events, finished_at) "
            "VALUES ('session_events', ?, ?, ?)",
            write=True,
        )
        return cls(db, scan, read_progress, save_progress)

    async def progress(self) -> Progress:
        rows = await self._db.execute(self._read_progress)
        if not rows:
            return Progress(FIRST_TOKEN, 0, None)
        return Progress(rows[0]["next_token"], rows[0]["events"] or 0, rows[0]["finished_at"])

    async def save(self, progress: Progress) -> None:
        await self._db.execute(self._save_progress, (progress.next_token, progress.events, progress.finished_at))

    async def scan(self, from_token: int, page_size: int) -> AsyncIterator[list[LegacyEvent]]:
        """Every event row from the partition at `from_token` on, one page at a time, in
        token order (the pending and the folded copy of an event are both returned)."""
        paging: bytes | None = None
        while True:
            page = await self._db.execute_page(self._scan, (from_token,), page_size=page_size, paging_state=paging)
            yield [
                LegacyEvent(
                    row["partition_token"],
                    Event(
                        EventKind(row["kind"]),
                        row["player_id"],
                        row["session_id"],
                        row["ts"],
                        row["country"] or None,
                    ),
                    row["ttl"],
                    row["received_at"],
                )
                for row in page.rows
            ]
            if page.paging_state is None:
                return
            paging = page.paging_state
