"""Nothing acknowledged is listed twice: conflicting re-deliveries, one after the other or
racing in two API processes (this test's app and the real server process), leave each
session listed once, with the winning halves (latest ts; for starts, then the larger
country), in /sessions, player.sessions, stats and the per-country counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ..events import end, new_player, now, start

pytestmark = pytest.mark.anyio
SESSIONS = 40


@pytest.fixture
async def served(live_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as other_process:
        yield other_process


async def post(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> None:
    response = await client.post("/events", json=events)
    assert response.status_code == 200, response.text


async def listed(client: httpx.AsyncClient, player: str) -> list[dict[str, Any]]:
    response = await client.get("/sessions", params={"player_id": player, "limit": 100})
    assert response.status_code == 200
    sessions: list[dict[str, Any]] = response.json()["sessions"]
    return sessions


async def graphql_sessions(client: httpx.AsyncClient, player: str) -> list[dict[str, Any]]:
    query = "query($id: ID!) { player(id: $id) { sessions(last: 100) { sessionId endTs country } } }"
    body = (await client.post("/graphql", json={"query": query, "variables": {"id": player}})).json()
    sessions: list[dict[str, Any]] = body["data"]["player"]["sessions"]
    return sessions


async def stats(client: httpx.AsyncClient, player: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/players/{player}/stats")).json()
    return body


async def test_an_end_re_sent_with_another_time_is_listed_once_with_the_later_end(client: httpx.AsyncClient) -> None:
    player, session = new_player("resent"), uuid.uuid4()
    began = now() - timedelta(hours=2)
    await post(client, [start(player, session, began), end(player, session, began + timedelta(minutes=30))])
    assert [s["duration_seconds"] for s in await listed(client, player)] == [1800.0]

    # A client that recomputes the time on retry.
    await post(client, [end(player, session, began + timedelta(minutes=31))])

    [only] = await listed(client, player)
    assert (only["session_id"], only["duration_seconds"]) == (str(session), 1860.0)
    assert [s["sessionId"] for s in await graphql_sessions(client, player)] == [str(session)]
    summary = await stats(client, player)
    assert (summary["completed_sessions"], summary["total_seconds"]) == (1, 1860.0)


async def test_an_earlier_re_sent_end_does_not_replace_the_later_one(client: httpx.AsyncClient) -> None:
    player, session = new_player("earlier"), uuid.uuid4()
    began = now() - timedelta(hours=2)
    await post(client, [start(player, session, began), end(player, session, began + timedelta(minutes=31))])
    await listed(client, player)

    await post(client, [end(player, session, began + timedelta(minutes=30))])

    assert [s["duration_seconds"] for s in await listed(client, player)] == [1860.0]


async def test_a_start_re_sent_with_another_country_counts_once_and_the_larger_code_wins(
    client: httpx.AsyncClient,
) -> None:
    player, session = new_player("country"), uuid.uuid4()
    began = now() - timedelta(minutes=20)
    before = await starts_by_country(client)

    await post(client, [start(player, session, began, "FI"), end(player, session, now())])
    await post(client, [start(player, session, began, "SE")])

    after = await starts_by_country(client)
    assert after.get("SE", 0) - before.get("SE", 0) == 1
    assert after.get("FI", 0) - before.get("FI", 0) == 0
    assert [s["country"] for s in await listed(client, player)] == ["SE"]


async def starts_by_country(client: httpx.AsyncClient) -> dict[str, int]:
    body = (await client.get("/session-starts", params={"hours": 1})).json()
    return {c["country"]: c["session_starts"] for c in body["countries"]}


async def test_conflicting_ends_racing_in_two_processes_leave_each_session_listed_once(
    client: httpx.AsyncClient, served: httpx.AsyncClient
) -> None:
    player = new_player("race-ends")
    began = now() - timedelta(days=1)
    sessions = [uuid.uuid4() for _ in range(SESSIONS)]
    starts = [start(player, s, began + timedelta(minutes=5 * i)) for i, s in enumerate(sessions)]
    await post(client, starts[:10])
    await post(served, starts[10:20])
    await post(client, starts[20:30])
    await post(served, starts[30:])

    responses = await asyncio.gather(
        *(
            client.post("/events", json=[end(player, s, began + timedelta(minutes=5 * i + 2))])
            for i, s in enumerate(sessions)
        ),
        *(
            served.post("/events", json=[end(player, s, began + timedelta(minutes=5 * i + 3))])
            for i, s in enumerate(sessions)
        ),
        # Reads racing the writes, in both processes at once.
        *(reader.get("/sessions", params={"player_id": player}) for reader in (client, served) for _ in range(5)),
    )

    assert {r.status_code for r in responses} == {200}
    here, there = await asyncio.gather(listed(client, player), listed(served, player))
    assert here == there
    assert sorted(s["session_id"] for s in here) == sorted(map(str, sessions))
    assert {s["duration_seconds"] for s in here} == {180.0}  # the later end won everywhere
    summary = await stats(served, player)
    assert (summary["completed_sessions"], summary["total_seconds"]) == (SESSIONS, SESSIONS * 180.0)
    assert len(await graphql_sessions(served, player)) == SESSIONS


async def test_conflicting_starts_racing_in_two_processes_count_each_session_once(
    client: httpx.AsyncClient, served: httpx.AsyncClient
) -> None:
    player = new_player("race-starts")
    began = now() - timedelta(minutes=30)
    sessions = [uuid.uuid4() for _ in range(SESSIONS)]
    before = await starts_by_country(client)

    responses = await asyncio.gather(
        *(client.post("/events", json=[start(player, s, began, "DE")]) for s in sessions),
        *(served.post("/events", json=[start(player, s, began, "NO")]) for s in sessions),
    )

    # Variants in one minute: settled by the recount itself, no read of the player needed.
    assert {r.status_code for r in responses} == {200}
    after = await starts_by_country(served)
    assert {c: after.get(c, 0) - before.get(c, 0) for c in ("DE", "NO")} == {"DE": 0, "NO": SESSIONS}


async def test_a_start_re_sent_in_another_minute_counts_once_without_reading_the_player(
    client: httpx.AsyncClient, served: httpx.AsyncClient
) -> None:
    player = new_player("moved-starts")
    began = now() - timedelta(minutes=30)
    sessions = [uuid.uuid4() for _ in range(10)]
    before = await starts_by_country(client)
    await post(client, [start(player, s, began, "NO") for s in sessions])

    # The client recomputed the time on retry: a later start, two minutes on, wins.
    await post(served, [start(player, s, began + timedelta(minutes=2), "AT") for s in sessions])
    await post(served, [end(player, s, now()) for s in sessions])

    # The minutes' recount checks new start rows against the session rows, which hold the
    # winner of every variant: no read of the player, in either process, is needed.
    after = await starts_by_country(served)
    assert {c: after.get(c, 0) - before.get(c, 0) for c in ("AT", "NO")} == {"AT": 10, "NO": 0}
    assert sorted(s["country"] for s in await listed(client, player)) == ["AT"] * 10


async def test_a_start_re_sent_in_another_minute_after_it_was_counted_leaves_that_minute(
    client: httpx.AsyncClient, served: httpx.AsyncClient
) -> None:
    player = new_player("late-moved-starts")
    began = now() - timedelta(minutes=40)
    sessions = [uuid.uuid4() for _ in range(5)]
    before = await starts_by_country(client)
    await post(client, [start(player, s, began, "NZ") for s in sessions])
    counted = await starts_by_country(client)
    assert counted.get("NZ", 0) - before.get("NZ", 0) == 5

    # The winner arrives after the first minute was counted with the loser in it.
    await post(served, [start(player, s, began + timedelta(minutes=3), "NU") for s in sessions])

    after = await starts_by_country(served)
    assert {c: after.get(c, 0) - before.get(c, 0) for c in ("NU", "NZ")} == {"NU": 5, "NZ": 0}


async def test_a_player_with_a_long_history_is_listed_whole_on_the_first_read(
    client: httpx.AsyncClient,
) -> None:
    # 2,400 events (1,200 sessions) sent with no read in between.
    player = new_player("backlog")
    began = now() - timedelta(days=2)
    sessions = [uuid.uuid4() for _ in range(1200)]
    batches = [
        [start(player, s, began + timedelta(seconds=i)), end(player, s, began + timedelta(seconds=i, minutes=1))]
        for i, s in enumerate(sessions)
    ]
    for group in range(0, len(batches), 5):
        await post(client, [e for pair in batches[group : group + 5] for e in pair])

    summary = await stats(client, player)

    assert summary["completed_sessions"] == 1200
    assert summary["total_seconds"] == 1200 * 60.0
    assert len(await listed(client, player)) == 100
