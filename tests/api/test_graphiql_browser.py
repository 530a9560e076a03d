"""GraphiQL offline: Chromium loads /graphql from the real server process with every request
to any other origin blocked, runs a query typed into the editor, and shows its result."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Route, expect

from ..events import new_player, now, session_pair
from .browser import WAIT_MS, chromium

SCREENSHOT = Path(__file__).resolve().parents[2] / "test-artifacts" / "graphiql.png"


def test_graphiql_runs_a_query_with_every_other_origin_blocked(live_server: str) -> None:
    player = new_player("graphiql")
    session, events = session_pair(player, now() - timedelta(minutes=30), minutes=12)
    assert httpx.post(f"{live_server}/events", json=events, timeout=30).status_code == 200
    query = f'{{ player(id: "{player}") {{ sessions {{ sessionId durationSeconds }} }} }}'

    with chromium() as context:
        elsewhere: list[str] = []

        def only_the_service(route: Route) -> None:
            if route.request.url.startswith(f"{live_server}/"):
                route.continue_()
            else:  # as if there were no internet
                elsewhere.append(route.request.url)
                route.abort("internetdisconnected")

        context.route("**/*", only_the_service)
        page = context.pages[0] if context.pages else context.new_page()
        failures: list[str] = []
        page.on("console", lambda m: failures.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: failures.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: failures.append(f"request failed: {r.url} {r.failure}"))
        page.on("response", lambda r: failures.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

        page.goto(f"{live_server}/graphql")
        editor = page.locator(".graphiql-query-editor .CodeMirror")
        expect(editor).to_be_visible(timeout=WAIT_MS)
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(query)
        page.get_by_role("button", name=re.compile("Execute query")).click()

        result = page.locator(".graphiql-response")
        expect(result).to_contain_text(str(session), timeout=WAIT_MS)
        expect(result).to_contain_text('"durationSeconds": 720')
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))

    assert elsewhere == []
    assert failures == []
