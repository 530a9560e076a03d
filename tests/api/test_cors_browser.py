"""CORS in the real browser: a page served from one origin (a second local port) posts a
gzip-compressed batch of events and queries GraphQL on the service at another origin, with an
API key; a page from an origin that is not allowed is refused by the browser, and nothing of
what it tried to post is stored."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from graphql_service.settings import Settings
from graphql_service.store.backends import Backend

from ..events import new_player, now, session_pair
from ..servers import free_port, served
from .browser import chromium

KEY = "browser-ingest-key"
# What a browser game does: JSON (so the request is preflighted), an API key header, and the
# batch gzip-compressed by the browser's own CompressionStream.
GAME_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A game</title><link rel="icon" href="data:,"></head>
<body><script>
async function call(url, key, payload, compress) {
  const headers = {"Content-Type": "application/json", "X-API-Key": key};
  let body = JSON.stringify(payload);
  if (compress) {
    const gzipped = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
    body = await new Response(gzipped).arrayBuffer();
    headers["Content-Encoding"] = "gzip";
  }
  try {
    const response = await fetch(url, {method: "POST", headers, body});
    return {status: response.status, body: await response.text(), requestId: response.headers.get("X-Request-Id")};
  } catch (error) {
    return {error: String(error)};
  }
}
window.postEvents = (service, key, events) => call(service + "/events", key, {rows: events}, true);
window.queryGraphQL = (service, key, query) => call(service + "/graphql", key, {query}, false);
</script></body></html>
"""


class GamePage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(GAME_PAGE)))
        self.end_headers()
        self.wfile.write(GAME_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def origins() -> Iterator[tuple[str, str]]:
    """Two origins serving the game page: (allowed, not allowed)."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), GamePage) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        allowed, refused = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
        yield allowed, refused
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def cors_server(settings: Settings, database: Backend, origins: tuple[str, str]) -> Iterator[str]:
    log_path = Path(tempfile.gettempdir()) / f"cors-server-{settings.keyspace}-{free_port()}.log"
    with served(settings, log_path, CORS_ALLOW_ORIGINS=origins[0], API_KEYS=KEY) as base_url:
        yield base_url


def game_page(page: Page, origin: str, console: list[str]) -> Page:
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.goto(f"{origin}/game.html")
    return page


def sessions_of(service: str, player: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{service}/sessions", params={"player_id": player}, timeout=30)
    assert response.status_code == 200, response.text
    sessions: list[dict[str, Any]] = response.json()["sessions"]
    return sessions


def test_a_page_on_an_allowed_origin_posts_events_and_queries_graphql(
    cors_server: str, origins: tuple[str, str]
) -> None:
    player = new_player("cors-browser")
    session, events = session_pair(player, now() - timedelta(minutes=30), minutes=7)
    query = f'{{ player(id: "{player}") {{ sessions {{ sessionId durationSeconds }} }} }}'
    console: list[str] = []

    with chromium() as context:
        page = game_page(context.new_page(), origins[0], console)
        posted = page.evaluate("([s, k, e]) => postEvents(s, k, e)", [cors_server, KEY, events])
        unkeyed = page.evaluate("([s, k, e]) => postEvents(s, k, e)", [cors_server, "wrong-key", events])
        queried = page.evaluate("([s, k, q]) => queryGraphQL(s, k, q)", [cors_server, KEY, query])

    assert (posted["status"], posted["body"]) == (200, "POST success"), posted
    assert len(posted["requestId"]) == 32  # an exposed header the page can read
    # An error answer is readable by the page too, not a CORS failure.
    assert unkeyed["status"] == 401 and "API key" in unkeyed["body"], unkeyed
    assert queried["status"] == 200, queried
    assert str(session) in queried["body"] and '"durationSeconds":420' in queried["body"]
    assert [s["session_id"] for s in sessions_of(cors_server, player)] == [str(session)]
    assert [line for line in console if "CORS" in line] == []


def test_a_page_on_another_origin_is_refused_by_the_browser(cors_server: str, origins: tuple[str, str]) -> None:
    player = new_player("cors-refused")
    _, events = session_pair(player, now() - timedelta(minutes=30))
    console: list[str] = []

    with chromium() as context:
        page = game_page(context.new_page(), origins[1], console)
        posted = page.evaluate("([s, k, e]) => postEvents(s, k, e)", [cors_server, KEY, events])
        queried = page.evaluate("([s, k, q]) => queryGraphQL(s, k, q)", [cors_server, KEY, "{ __typename }"])

    assert posted == {"error": "TypeError: Failed to fetch"}
    assert queried == {"error": "TypeError: Failed to fetch"}
    assert any("blocked by CORS policy" in line for line in console), console
    # The preflight was refused, so the POST itself was never sent.
    assert sessions_of(cors_server, player) == []
