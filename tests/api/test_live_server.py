"""The real server process (the Dockerfile's start command) serves both APIs."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ..events import new_player, now, session_pair


def test_the_served_process_stores_and_lists_sessions(live_server: str) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(minutes=40))

    posted = httpx.post(f"{live_server}/events", json={"rows": pair})
    listed = httpx.request("GET", f"{live_server}/sessions", json={"player_id": player})

    assert posted.text == "POST success"
    assert len(listed.json()["sessions"]) == 1
