"""docs/examples/client.js, the browser client of docs/clients.md, run in Chromium: a page on one
origin loads the file as is and, through the service at another origin (CORS_ALLOW_ORIGINS, an
API key), sends gzipped batches of at most 10 events, retries a 503 after its Retry-After, and
reads the sessions back over GraphQL."""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphql_service.settings import Settings
from graphql_service.store.backends import Backend

from ..events import now
from ..servers import free_port, served
from .browser import chromium
from .unavailable_once import unavailable_once

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "client.js"
KEY = "client-example-key"
PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A game</title><link rel="icon" href="data:,">
<script src="/client.js"></script></head><body></body></html>
"""
# What a game does with the example: six sessions (12 events, so two batches), then a read.
PLAY = """async ([service, key, player, sessions, ended]) => {
  const client = new PlayerSessionClient(service, key);
  sessions.forEach((session, n) => {
    client.start(player, session, new Date(ended - (30 + n) * 60_000), "QJ");
    client.end(player, session, new Date(ended - n * 60_000));
  });
  const stored = await client.flush();
  return {stored, sessions: await client.sessions(player, 10), pending: client.pending.length};
}"""


class GamePage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body, kind = (EXAMPLE.read_bytes(), "text/javascript") if self.path == "/client.js" else (PAGE, "text/html")
        self.send_response(200)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), GamePage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def service(settings: Settings, database: Backend, origin: str) -> Iterator[str]:
    log_path = Path(tempfile.gettempdir()) / f"client-example-server-{settings.keyspace}-{free_port()}.log"
    with served(settings, log_path, CORS_ALLOW_ORIGINS=origin, API_KEYS=KEY) as base_url:
        yield base_url


def test_the_javascript_example_sends_gzipped_batches_retries_a_503_and_reads_back_over_graphql(
    service: str, origin: str
) -> None:
    player = f"js-{uuid.uuid4().hex[:8]}"
    sessions = [str(uuid.uuid4()) for _ in range(6)]
    ended = now().timestamp() * 1000
    errors: list[str] = []

    with unavailable_once(service) as (proxy, seen), chromium() as context:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{origin}/game.html")
        played = page.evaluate(PLAY, [proxy, KEY, player, sessions, ended])

    assert errors == []
    assert played["stored"] == {"accepted": 12, "expired": 0}
    assert played["pending"] == 0
    # The first batch of 10 refused once and sent again, then the last 2; all gzipped, keyed.
    assert len(seen.posts) == 3
    assert all(p["content-encoding"] == "gzip" and p["x-api-key"] == KEY for p in seen.posts)
    assert [s["sessionId"] for s in played["sessions"]] == sessions  # newest end first
    assert all(s["durationSeconds"] == 1800.0 and s["country"] == "QJ" for s in played["sessions"])
    stored = httpx.get(f"{service}/sessions", params={"player_id": player, "limit": 10}, timeout=30).json()
    assert [s["session_id"] for s in stored["sessions"]] == sessions


def test_the_javascript_example_reports_bad_input_without_retrying(service: str, origin: str) -> None:
    with chromium() as context:
        page = context.new_page()
        page.goto(f"{origin}/game.html")
        failed = page.evaluate(
            """async ([service, key, session, at]) => {
              const client = new PlayerSessionClient(service, key);
              client.start("js-bad", session, new Date(at), "Germany");
              try { await client.flush(); return null; } catch (error) { return String(error); }
            }""",
            [service, KEY, str(uuid.uuid4()), (now() - timedelta(minutes=1)).timestamp() * 1000],
        )

    assert failed is not None and failed.startswith("Error: POST /events: 400 invalid event batch: events[0].country")
