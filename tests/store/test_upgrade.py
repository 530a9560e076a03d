"""`upgrade` carries a keyspace written before the session store of cql/008 over to it.

tests/store/data/legacy_keyspace.json holds the rows that code wrote for six players (folded
and pending events, re-sent ends, a start re-sent into another minute, an end before its
start, lone halves) and what its own reads answered; tests/store/data/make_legacy_keyspace.py
made it, run against that commit (9310500). Times are seconds from a minute-aligned anchor."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from graphql_service.core.service import SessionService
from graphql_service.domain.buckets import Level, floor
from graphql_service.domain.events import utc_now
from graphql_service.domain.sessions import version
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database
from graphql_service.tools.upgrade import upgrade

from ..keyspaces import own_keyspace

pytestmark = pytest.mark.anyio

DUMP = json.loads((Path(__file__).parent / "data" / "legacy_keyspace.json").read_text())
TIMES = {"ts", "received_at", "minute", "end_ts", "start_ts"}


async def load_legacy_rows(database: Database, keyspace: str) -> datetime:
    """The dump's rows, written as that code wrote them; returns the anchor the times count from."""
    anchor = floor(Level.MINUTE, utc_now()) - timedelta(minutes=1)

    def value(column: str, v: Any) -> Any:
        if v is None:
            return None
        if column in TIMES:
            return anchor + timedelta(seconds=v)
        return uuid.UUID(v) if column == "session_id" else v

    for table, rows in DUMP["tables"].items():
        for row in rows:
            ttl = row["ttl"]
            columns = [c for c in row if c != "ttl"]
            values = [value(c, row[c]) for c in columns]
            using = f"USING TTL {ttl}"
            if table == "session_starts_by_minute":
                # Per-country rows were written at their start's version.
                using += f" AND TIMESTAMP {version(value('ts', row['ts']), row['country'])}"
            marks = ", ".join("?" for _ in columns)
            await database.execute_schema(
                f"INSERT INTO {keyspace}.{table} ({', '.join(columns)}) VALUES ({marks}) {using}", values
            )
    return anchor


async def answers(service: SessionService, anchor: datetime) -> dict[str, Any]:
    """What the reads answer now, in the dump's form."""

    def rel(t: datetime) -> float:
        return (t - anchor).total_seconds()

    found: dict[str, Any] = {}
    for player in (p for p in DUMP["expected"] if p != "session_starts"):
        stats = await service.player_stats(player)
        found[player] = {
            "sessions": [
                [str(s.session_id), s.country, rel(s.start_ts), rel(s.end_ts)]
                for s in await service.recent_sessions(player)
            ],
            "completed_sessions": stats.completed_sessions,
            "total_seconds": stats.total_seconds,
        }
    found["session_starts"] = {c.country: c.session_starts for c in (await service.session_starts(24)).countries}
    return found


async def test_a_keyspace_written_before_the_session_store_reads_the_same_after_upgrade(
    database: Database, settings: Settings
) -> None:
    async with own_keyspace(database, settings, "upgrade") as own:
        anchor = await load_legacy_rows(database, own.keyspace)
        service = await SessionService.create(database, own)
        assert (await answers(service, anchor))["legacy-A"]["sessions"] == []  # nothing carried over yet

        summary = await upgrade(own)

        assert summary.events == len(DUMP["tables"]["session_events_by_player"])
        assert await answers(service, anchor) == DUMP["expected"]
        assert (await upgrade(own)).already_done


async def test_an_interrupted_upgrade_goes_on_where_it_stopped(database: Database, settings: Settings) -> None:
    async with own_keyspace(database, settings, "resume") as own:
        anchor = await load_legacy_rows(database, own.keyspace)
        first = asyncio.create_task(upgrade(own, page_size=4))
        for _ in range(200):  # until it has saved its progress once (bounded)
            rows = await database.execute_schema(f"SELECT events FROM {own.keyspace}.upgrade_progress")
            if rows and rows[0]["events"]:
                break
            await asyncio.sleep(0.05)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        saved = (await database.execute_schema(f"SELECT next_token FROM {own.keyspace}.upgrade_progress"))[0]

        await upgrade(own, page_size=4)

        assert saved["next_token"] > -(2**63)
        service = await SessionService.create(database, own)
        assert await answers(service, anchor) == DUMP["expected"]
