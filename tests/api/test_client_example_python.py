"""docs/examples/client.py, the Python client of docs/clients.md, run against the real server:
as a user runs it (a subprocess), and through a proxy that answers its first batch 503."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from .unavailable_once import unavailable_once

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "client.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_client_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_python_example_posts_a_session_and_reads_it_back_over_graphql(live_server: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), live_server], capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["stored"] == {"accepted": 2, "expired": 0}
    [session] = shown["sessions"]
    assert (session["country"], session["durationSeconds"]) == ("FI", 1800.0)
    # What the example printed is what the service stored.
    listed = httpx.get(f"{live_server}/sessions", params={"player_id": shown["player_id"]}, timeout=30).json()
    assert [s["session_id"] for s in listed["sessions"]] == [session["sessionId"]]


def test_the_python_example_sends_gzipped_batches_of_ten_and_retries_a_503_after_retry_after(
    live_server: str,
) -> None:
    example = _example()
    player = f"py-retry-{uuid.uuid4().hex[:8]}"
    ended = datetime.now(UTC)
    sessions = [uuid.uuid4() for _ in range(6)]

    with unavailable_once(live_server) as (proxy, seen):
        client = example.SessionClient(proxy)
        for n, session in enumerate(sessions):
            client.start(player, session, ended - timedelta(minutes=30 + n), "QP")
            client.end(player, session, ended - timedelta(minutes=n))
        stored = client.flush()
        read_back = client.sessions(player, last=10)

    assert stored == {"accepted": 12, "expired": 0}
    # 12 events: the first batch of 10 refused once and sent again, then the last 2.
    assert len(seen.posts) == 3
    assert all(post["content-encoding"] == "gzip" for post in seen.posts)
    assert [s["sessionId"] for s in read_back] == [str(s) for s in sessions]  # newest end first
    assert all(s["durationSeconds"] == 1800.0 for s in read_back)


def test_the_python_example_gives_up_at_once_on_bad_input_naming_it(live_server: str) -> None:
    example = _example()
    client = example.SessionClient(live_server)
    client.start(f"py-bad-{uuid.uuid4().hex[:8]}", uuid.uuid4(), datetime.now(UTC), "Finland")

    with pytest.raises(example.ServiceError, match=r"POST /events: 400 .*events\[0\]\.country"):
        client.flush()
    assert len(client.pending) == 1  # kept, not silently dropped


def test_the_python_example_writes_times_in_utc() -> None:
    helsinki = datetime(2026, 11, 26, 14, 0, tzinfo=timezone(timedelta(hours=2)))

    assert _example().utc(helsinki) == "2026-11-26T12:00:00+00:00"
