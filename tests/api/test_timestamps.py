"""One timestamp form in every answer, REST and GraphQL: ISO-8601 UTC with milliseconds and
`+00:00`, e.g. `2026-11-26T12:00:00.000+00:00`."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from ..events import new_player, now, session_pair

pytestmark = pytest.mark.anyio

ONE_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$")


async def test_rest_and_graphql_write_every_timestamp_the_same_way(client: httpx.AsyncClient) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))
    pair[0]["ts"] += "+02:00"  # an offset on the way in changes nothing on the way out
    await client.post("/events", json=pair)

    [session] = (await client.get("/sessions", params={"player_id": player})).json()["sessions"]
    stats = (await client.get(f"/players/{player}/stats")).json()
    starts = (await client.get("/session-starts", params={"hours": 1})).json()
    query = f'{{ player(id: "{player}") {{ sessions {{ startTs endTs }} stats {{ lastSessionEnd }} }} }}'
    graphql = (await client.post("/graphql", json={"query": query})).json()["data"]["player"]

    written = [
        session["start_ts"],
        session["end_ts"],
        stats["last_session_end"],
        starts["from"],
        starts["to"],
        graphql["sessions"][0]["startTs"],
        graphql["sessions"][0]["endTs"],
        graphql["stats"]["lastSessionEnd"],
    ]
    assert [ts for ts in written if not ONE_FORM.match(ts)] == []
    assert graphql["sessions"][0] == {"startTs": session["start_ts"], "endTs": session["end_ts"]}
    assert starts["to"].endswith(":00.000+00:00")  # the window's edges are whole minutes
