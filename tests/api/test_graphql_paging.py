"""GraphQL `player.sessionsPage`: the same pages as REST GET /sessions, through the same service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from ..events import new_player, now
from .test_graphql import graphql
from .test_rest_paging import post_sessions

pytestmark = pytest.mark.anyio

PAGE = """
query Page($id: ID!, $last: Int, $before: String) {
  player(id: $id) {
    sessionsPage(last: $last, before: $before) { sessions { sessionId } nextCursor }
  }
}
"""


async def test_next_cursor_walks_every_session_once_like_rest(client: httpx.AsyncClient) -> None:
    player = new_player()
    base = now() - timedelta(days=1)
    ids = await post_sessions(client, player, [base + timedelta(minutes=30 * i) for i in range(7)])

    walked: list[str] = []
    before: str | None = None
    pages = 0
    while True:
        result = await graphql(client, PAGE, id=player, last=3, before=before)
        found: dict[str, Any] = result["data"]["player"]["sessionsPage"]
        walked += [s["sessionId"] for s in found["sessions"]]
        pages += 1
        before = found["nextCursor"]
        if before is None:
            break
    rest = await client.get("/sessions", params={"player_id": player, "limit": 3})

    assert walked == ids[::-1]
    assert pages == 3
    assert (
        rest.json()["next_cursor"]
        == (await graphql(client, PAGE, id=player, last=3))["data"]["player"]["sessionsPage"]["nextCursor"]
    )


async def test_a_bad_cursor_is_bad_user_input(client: httpx.AsyncClient) -> None:
    result = await graphql(client, PAGE, id=new_player(), before="garbage")

    assert result["data"] is None
    [error] = result["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("before ")
    assert [d["field"] for d in error["extensions"]["details"]] == ["before"]
