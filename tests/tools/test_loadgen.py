"""`loadgen`: synthetic traffic against the real served process, and the data sets it writes."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database
from graphql_service.tools import cli
from graphql_service.tools.importer import ImportOptions, import_file
from graphql_service.tools.loadgen import (
    LoadOptions,
    SyntheticEvents,
    percentile,
    recent_start,
    render_report,
    run_load,
)

pytestmark = pytest.mark.anyio


def test_loadgen_gets_an_answer_to_every_request(live_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["loadgen", "--url", live_server, "--duration", "2", "--concurrency", "4", "--players", "50"]
    status = cli.main([*args, "--rest-reads", "0.1", "--graphql-reads", "0.1", "--seed", "7", "--json"])

    out, err = capsys.readouterr()
    report = json.loads(out)
    endpoints = report["endpoints"]
    assert status == 0
    assert report["errors"] == {} and report["skipped"] == 0
    assert report["requests"] == report["ok"] == sum(e["requests"] for e in endpoints.values()) > 0
    assert all(e["ok"] == e["requests"] for e in endpoints.values())
    assert report["events_accepted"] == report["events_sent"] > 0
    assert report["events_per_second"] > 0 and report["requests_per_second"] > 0
    writes = endpoints["POST /events"]
    assert writes["p50_ms"] <= writes["p95_ms"] <= writes["p99_ms"] <= writes["max_ms"]
    assert "loadgen" in err  # the progress line (stderr is not a TTY here)


async def test_a_target_rate_schedules_a_fixed_number_of_requests(live_server: str) -> None:
    options = LoadOptions(url=live_server, duration_seconds=1.0, rate=20, players=10, graphql_reads=0.5, seed=3)

    report = await run_load(options)

    # 20 sends are due in one second at 20/s; each is either sent or skipped, never lost.
    assert report.requests + report.skipped == 20
    assert report.ok == report.requests
    table = io.StringIO()
    render_report(report, table)
    text = table.getvalue()
    assert "p95 ms" in text and "POST /events" in text and "POST /graphql" in text
    assert "errors: none" in text


def test_synthetic_stream_sends_ends_first_and_duplicates_with_valid_times() -> None:
    stream = SyntheticEvents(
        players=20, session_start=recent_start, out_of_order=0.3, duplicates=0.1, rng=random.Random(1), limit=501
    )

    events = list(stream)

    assert len(events) == 501 == stream.counts.events
    halves: dict[str, dict[str, object]] = {}
    first_seen: dict[str, str] = {}
    for event in events:
        session = str(event["session_id"])
        first_seen.setdefault(session, str(event["event"]))
        halves.setdefault(session, {})[str(event["event"])] = event["ts"]
    sent = Counter(json.dumps(e, sort_keys=True) for e in events)
    assert sum(n - 1 for n in sent.values()) == stream.counts.duplicates > 0
    assert Counter(first_seen.values())["end"] == stream.counts.ends_first > 0
    complete = [h for h in halves.values() if "start" in h and "end" in h]
    assert len(complete) == stream.counts.sessions
    assert len(halves) == stream.counts.sessions + stream.counts.lone_starts
    now = datetime.now(UTC).replace(tzinfo=None).isoformat()
    assert all(str(h["start"]) < str(h["end"]) < now for h in complete)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([], 0.5) is None


async def test_a_written_data_set_imports_with_a_matching_summary(
    tmp_path: Path, database: Database, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "generated.jsonl.gz"
    args = ["loadgen", "--write-jsonl", str(path), "--events", "400", "--players", "30", "--invalid", "0.05"]
    assert cli.main([*args, "--seed", "11"]) == 0
    written = capsys.readouterr().out
    broken = int(written.rsplit(", ", 1)[1].split()[0])
    assert written.startswith(f"wrote 400 events to {path}") and broken > 0

    summary = await import_file(path, settings, ImportOptions(), database=database)

    assert (summary.lines, summary.expired, summary.rejected) == (400, 0, broken)
    assert summary.accepted == 400 - broken
