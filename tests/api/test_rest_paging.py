"""GET /sessions a page at a time: `next_cursor` back as `before` walks a player's whole
history, newest end first, each session once, also while new sessions arrive."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from ..events import end, new_player, now, session_pair, start

pytestmark = pytest.mark.anyio


async def post_sessions(client: httpx.AsyncClient, player: str, ends: list[datetime]) -> list[str]:
    """One ten-minute session ending at each time; their ids."""
    ids, events = [], []
    for ended in ends:
        session, pair = session_pair(player, ended - timedelta(minutes=10))
        ids.append(str(session))
        events += pair
    for i in range(0, len(events), 10):
        response = await client.post("/events", json=events[i : i + 10])
        assert response.status_code == 200, response.text
    return ids


async def page(client: httpx.AsyncClient, player: str, **params: object) -> dict[str, Any]:
    response = await client.get("/sessions", params={"player_id": player, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def walk(client: httpx.AsyncClient, player: str, limit: int) -> list[list[str]]:
    """Every page's session ids, from the newest page to the one whose next_cursor is null."""
    pages, before = [], None
    while True:
        body = await page(client, player, limit=limit, **({"before": before} if before else {}))
        pages.append([s["session_id"] for s in body["sessions"]])
        before = body["next_cursor"]
        if before is None:
            return pages


async def test_next_cursor_walks_the_whole_history_newest_first_each_session_once(client: httpx.AsyncClient) -> None:
    player = new_player()
    base = now() - timedelta(days=3)
    ids = await post_sessions(client, player, [base + timedelta(minutes=20 * i) for i in range(25)])

    pages = await walk(client, player, limit=10)

    assert [len(p) for p in pages] == [10, 10, 5]
    assert [s for p in pages for s in p] == ids[::-1]


async def test_history_reaches_past_the_largest_limit(client: httpx.AsyncClient) -> None:
    player = new_player()
    base = now() - timedelta(days=5)
    ids = await post_sessions(client, player, [base + timedelta(minutes=20 * i) for i in range(130)])

    pages = await walk(client, player, limit=100)

    assert [len(p) for p in pages] == [100, 30]
    assert [s for p in pages for s in p] == ids[::-1]


async def test_a_last_page_that_is_exactly_full_has_no_next_cursor(client: httpx.AsyncClient) -> None:
    player = new_player()
    await post_sessions(client, player, [now() - timedelta(hours=h) for h in (3, 2, 1)])

    body = await page(client, player, limit=3)

    assert len(body["sessions"]) == 3
    assert body["next_cursor"] is None


async def test_an_unknown_player_has_an_empty_page_and_no_cursor(client: httpx.AsyncClient) -> None:
    player = new_player()

    assert await page(client, player) == {"player_id": player, "sessions": [], "next_cursor": None}


async def test_sessions_ending_in_the_same_millisecond_are_neither_repeated_nor_skipped(
    client: httpx.AsyncClient,
) -> None:
    # The listing clusters by end DESC then session id ASC; a cursor inside a run of equal
    # ends must continue within that run.
    player = new_player()
    ended = now() - timedelta(hours=2)
    ids = await post_sessions(client, player, [ended] * 5 + [ended - timedelta(hours=1)] * 2)

    pages = await walk(client, player, limit=2)

    walked = [s for p in pages for s in p]
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert walked == sorted(ids[:5], key=uuid.UUID) + sorted(ids[5:], key=uuid.UUID)


async def test_sessions_arriving_during_a_walk_neither_repeat_nor_skip_older_ones(client: httpx.AsyncClient) -> None:
    player = new_player()
    base = now() - timedelta(days=2)
    ids = await post_sessions(client, player, [base + timedelta(minutes=20 * i) for i in range(9)])

    first = await page(client, player, limit=4)
    newer = await post_sessions(client, player, [now() - timedelta(minutes=m) for m in (30, 20, 10)])
    second = await page(client, player, limit=4, before=first["next_cursor"])
    third = await page(client, player, limit=4, before=second["next_cursor"])

    walked = [s["session_id"] for body in (first, second, third) for s in body["sessions"]]
    assert walked == ids[::-1]
    assert third["next_cursor"] is None
    # The new ones are at the top, where the next walk starts.
    assert [s["session_id"] for s in (await page(client, player, limit=3))["sessions"]] == newer[::-1]


async def test_a_session_whose_end_moves_later_during_a_walk_is_not_returned_twice(client: httpx.AsyncClient) -> None:
    # A later end re-keys the listing row towards the newest end: behind a walk that
    # already returned the session, never ahead of it.
    player = new_player()
    base = now() - timedelta(days=1)
    ids = await post_sessions(client, player, [base + timedelta(hours=i) for i in range(6)])

    first = await page(client, player, limit=3)
    moved = uuid.UUID(first["sessions"][-1]["session_id"])
    assert (await client.post("/events", json=[end(player, moved, now() - timedelta(minutes=1))])).status_code == 200
    second = await page(client, player, limit=3, before=first["next_cursor"])

    assert [s["session_id"] for s in second["sessions"]] == ids[2::-1]
    assert second["next_cursor"] is None


async def test_a_session_completed_behind_the_cursor_is_found_by_the_walk(client: httpx.AsyncClient) -> None:
    player = new_player()
    base = now() - timedelta(days=1)
    ids = await post_sessions(client, player, [base + timedelta(hours=i) for i in range(4)])
    late = uuid.uuid4()
    late_end = base - timedelta(hours=1)

    first = await page(client, player, limit=2)
    await client.post(
        "/events", json=[start(player, late, late_end - timedelta(minutes=5)), end(player, late, late_end)]
    )
    second = await page(client, player, limit=5, before=first["next_cursor"])

    assert [s["session_id"] for s in second["sessions"]] == [ids[1], ids[0], str(late)]


@pytest.mark.parametrize("cursor", ["garbage", "A" * 34, "%%%", "A" * 200])
async def test_a_cursor_we_did_not_make_is_a_400_naming_before(client: httpx.AsyncClient, cursor: str) -> None:
    response = await client.get("/sessions", params={"player_id": new_player(), "before": cursor})

    assert response.status_code == 400
    body = response.json()
    assert body["error"].startswith("before ")
    assert [d["field"] for d in body["details"]] == ["before"]


async def test_before_may_come_in_a_json_body_like_player_id(client: httpx.AsyncClient) -> None:
    player = new_player()
    ids = await post_sessions(client, player, [now() - timedelta(hours=h) for h in (3, 2, 1)])
    first = await page(client, player, limit=2)

    response = await client.request(
        "GET", "/sessions", json={"player_id": player, "limit": 2, "before": first["next_cursor"]}
    )

    assert [s["session_id"] for s in response.json()["sessions"]] == [ids[0]]
