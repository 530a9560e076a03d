"""`import FILE`: every line accepted, expired or rejected (with its reason), through the
same domain code as the APIs, against the real Cassandra node."""

from __future__ import annotations

import asyncio
import bz2
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from graphql_service.core.service import SessionService
from graphql_service.domain.errors import StorageUnavailable
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database
from graphql_service.tools import cli
from graphql_service.tools.importer import ImportOptions, ImportSummary, import_file, retry

from .. import keyspaces
from ..events import end, new_player, now, session_pair, start

pytestmark = pytest.mark.anyio


def line(event: object) -> bytes:
    return json.dumps(event).encode()


def write(path: Path, lines: list[bytes]) -> Path:
    data = b"\n".join(lines) + b"\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    elif path.suffix == ".bz2":
        path.write_bytes(bz2.compress(data))
    else:
        path.write_bytes(data)
    return path


def mixed_file(path: Path, player: str) -> tuple[Path, dict[int, str]]:
    """A small file with every kind of line; returns it and {line number: expected reason}."""
    recent = now() - timedelta(hours=3)
    _, first = session_pair(player, recent)
    _, second = session_pair(player, recent + timedelta(minutes=30))
    _, expired = session_pair(player, now() - timedelta(days=800))
    broken_session = uuid.uuid4()
    backwards = uuid.uuid4()
    # Batches are 10 non-blank lines: 1-11 and 12-18. Each duplicate shares a batch with
    # its original, so it is seen as one even though batches run concurrently.
    lines = [
        line(first[0]),  # 1
        line(first[0]),  # 2 the same start again: a duplicate
        line(first[1]),  # 3
        b'{"event": "start", "player_id": ',  # 4 cut short
        line({**start(player, broken_session, recent), "country": "Finland"}),  # 5
        line(end(player, broken_session, recent + timedelta(minutes=5))),  # 6 valid on its own
        line(expired[0]),  # 7
        line(expired[1]),  # 8
        b"",  # 9 blank
        b"[1, 2]",  # 10
        b'{"event": "start", "player_id": "caf\xe9"}',  # 11 Latin-1, not UTF-8
        line(second[1]),  # 12 end first
        line(second[0]),  # 13
        line(start(player, uuid.uuid4(), now() + timedelta(days=3))),  # 14
        line(start(player, backwards, recent)),  # 15
        line(end(player, backwards, recent - timedelta(minutes=1))),  # 16 ends before it starts
        line({"event": "pause", "player_id": player, "session_id": str(uuid.uuid4()), "ts": "2026-01-01T00:00:00"}),
        line(second[1]),  # 18 the end again: a duplicate
    ]
    reasons = {
        4: "not valid JSON",
        5: "country must be an ISO 3166-1 alpha-2 country code",
        10: "event each event must be a JSON object",
        11: "not UTF-8 text",
        14: "ts is more than 24 hours in the future",
        16: "ts end is earlier than its session's start",
        17: "event must be 'start' or 'end', got 'pause'",
    }
    return write(path, lines), reasons


async def service_for(database: Database, settings: Settings, clock: str = "event") -> SessionService:
    return await SessionService.create(database, settings.with_overrides(retention_clock=clock))


@pytest.mark.parametrize("name", ["events.jsonl", "events.jsonl.gz", "events.jsonl.bz2"])
async def test_import_accepts_expires_and_rejects_each_line_exactly_once(
    tmp_path: Path, database: Database, settings: Settings, name: str
) -> None:
    player = new_player("import")
    path, reasons = mixed_file(tmp_path / name, player)
    service = await service_for(database, settings)

    summary = await import_file(path, service.settings, ImportOptions(), database=database)

    assert (summary.lines, summary.blank, summary.rejected, summary.expired) == (18, 1, 7, 2)
    assert summary.accepted == 8  # 18 lines - 1 blank - 7 rejected - 2 expired
    assert summary.stopped is None and summary.retries == 0
    rejects = [json.loads(text) for text in Path(summary.rejects_file or "").read_text().splitlines()]
    assert sorted(r["line"] for r in rejects) == sorted(reasons)
    for record in rejects:
        assert reasons[record["line"]] in record["reason"]
    sessions = await service.recent_sessions(player)
    assert len(sessions) == 2  # the two complete, valid, unexpired sessions; nothing else
    assert {s.country for s in sessions} == {"FI"}


async def test_a_clean_file_leaves_no_reject_file(tmp_path: Path, database: Database, settings: Settings) -> None:
    player = new_player("clean")
    _, pair = session_pair(player, now() - timedelta(hours=2))
    path = write(tmp_path / "clean.jsonl", [line(e) for e in pair])
    stale = tmp_path / "clean.jsonl.rejects.jsonl"
    stale.write_text('{"line": 1, "reason": "from an earlier run"}\n')

    summary = await import_file(path, settings, ImportOptions(concurrency=1), database=database)

    assert (summary.accepted, summary.rejected, summary.rejects_file) == (2, 0, None)
    assert not stale.exists()


async def test_a_truncated_gzip_file_stops_the_import_and_says_where(
    tmp_path: Path, database: Database, settings: Settings
) -> None:
    player = new_player("truncated")
    lines = []
    for n in range(40):
        _, pair = session_pair(player, now() - timedelta(hours=5, minutes=n))
        lines += [line(e) for e in pair]
    data = gzip.compress(b"\n".join(lines) + b"\n")
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])

    summary = await import_file(path, settings, ImportOptions(), database=database)

    assert summary.stopped is not None and "cannot read the file after line" in summary.stopped
    assert 0 < summary.lines < 80
    assert summary.accepted + summary.rejected == summary.lines - summary.blank


def historic_file(path: Path, player: str) -> Path:
    """Like the original assignment data set: December 2016."""
    started = datetime(2016, 12, 2, 5, 36, 16, tzinfo=UTC)
    lines = []
    for n in range(3):
        _, pair = session_pair(player, started + timedelta(hours=n), minutes=20 + n)
        lines += [line(e) for e in pair]
    return write(path, lines)


async def test_historic_events_expire_by_event_time(tmp_path: Path, database: Database, settings: Settings) -> None:
    player = new_player("historic")
    path = historic_file(tmp_path / "2016.jsonl", player)
    service = await service_for(database, settings, "event")

    summary = await import_file(path, service.settings, ImportOptions(), database=database)

    assert (summary.accepted, summary.expired, summary.rejected) == (0, 6, 0)
    assert await service.recent_sessions(player) == []


async def test_retention_from_ingestion_replays_a_historic_data_set(
    tmp_path: Path,
    database: Database,
    settings: Settings,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    player = new_player("replay")
    path = historic_file(tmp_path / "2016.jsonl.gz", player)
    monkeypatch.setenv("CASSANDRA_KEYSPACE", settings.keyspace)
    monkeypatch.delenv("RETENTION_CLOCK", raising=False)

    # The command runs its own event loop, so it gets a thread of its own.
    status = await asyncio.to_thread(cli.main, ["import", str(path), "--retention-from", "ingestion", "--json"])

    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert status == 0
    assert (summary["accepted"], summary["expired"], summary["rejected"]) == (6, 0, 0)
    assert summary["retention_clock"] == "ingestion"
    assert "import 2016.jsonl.gz" in err and "100.0%" in err  # progress lines, not a TTY here
    listed = (await client.get("/sessions", params={"player_id": player})).json()["sessions"]
    assert [s["start_ts"][:10] for s in listed] == ["2016-12-02"] * 3


def test_import_command_prints_a_readable_summary(
    tmp_path: Path,
    database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _ = mixed_file(tmp_path / "mixed.jsonl", new_player("cli"))
    rejects = tmp_path / "bad-lines.jsonl"
    monkeypatch.setenv("CASSANDRA_KEYSPACE", settings.keyspace)
    monkeypatch.delenv("RETENTION_CLOCK", raising=False)

    status = cli.main(["import", str(path), "--rejects", str(rejects), "--no-progress"])

    out, err = capsys.readouterr()
    assert status == 0
    assert out.splitlines()[0].startswith(f"imported {path} in ")
    rows = [" ".join(text.split()) for text in out.splitlines()]
    assert f"rejected 7 see {rejects}" in rows
    assert "expired 2 past retention (counted from event time)" in rows
    assert "accepted 8" in rows
    assert "import mixed.jsonl" not in err
    assert len(rejects.read_text().splitlines()) == 7


async def test_import_settles_the_start_buckets_it_touched_before_it_exits(
    tmp_path: Path, database: Database, settings: Settings, statements: list[str]
) -> None:
    async with keyspaces.own_keyspace(database, settings, "import") as own:
        late = now() - timedelta(hours=2)
        events = [start(new_player("late"), uuid.uuid4(), late - timedelta(minutes=7 * i), "QZ") for i in range(50)]
        path = write(tmp_path / "late.jsonl", [line(e) for e in events])

        summary = await import_file(path, own, ImportOptions(), database=database)
        statements.clear()
        report = await (await SessionService.create(database, own)).session_starts(24)

        assert summary.accepted == 50 and summary.settled_buckets >= 50
        assert [(c.country, c.session_starts) for c in report.countries] == [("QZ", 50)]
        # Counted ahead of the question: the first query reads stored counts only.
        assert "read_minute_starts" not in statements


def test_import_of_a_missing_file_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["import", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


async def test_retry_resends_after_storage_unavailable_then_gives_up() -> None:
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise StorageUnavailable("Cassandra failed on write_start: OperationTimedOut")
        return "stored"

    retried: list[int] = []
    assert await retry(flaky, attempts=3, backoff_seconds=0.001, on_retry=lambda n, e: retried.append(n)) == "stored"
    assert retried == [1, 2]

    calls.clear()
    with pytest.raises(StorageUnavailable):
        await retry(flaky, attempts=2, backoff_seconds=0.001)
    assert len(calls) == 2


def test_summary_rate_counts_accepted_events() -> None:
    summary = ImportSummary(file="f", accepted=500, elapsed_seconds=2.0)
    assert summary.events_per_second == 250.0
    assert summary.as_dict()["events_per_second"] == 250.0
