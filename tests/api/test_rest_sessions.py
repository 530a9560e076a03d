"""POST /events and GET /sessions: the original REST contract."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from ..events import end, new_player, now, session_pair, start

pytestmark = pytest.mark.anyio


async def post(client: httpx.AsyncClient, body: object) -> httpx.Response:
    return await client.post("/events", json=body)


async def sessions(client: httpx.AsyncClient, player: str, **params: object) -> list[dict[str, object]]:
    response = await client.get("/sessions", params={"player_id": player, **params})
    assert response.status_code == 200, response.text
    return response.json()["sessions"]


async def test_a_start_and_an_end_make_a_complete_session(client: httpx.AsyncClient) -> None:
    player = new_player()
    begun = now() - timedelta(hours=1)
    session, pair = session_pair(player, begun, minutes=15, country="fi")

    response = await post(client, {"rows": pair})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "POST success"
    assert await sessions(client, player) == [
        {
            "session_id": str(session),
            "player_id": player,
            "country": "FI",
            "start_ts": begun.isoformat(timespec="milliseconds"),
            "end_ts": (begun + timedelta(minutes=15)).isoformat(timespec="milliseconds"),
            "duration_seconds": 900.0,
        }
    ]


@pytest.mark.parametrize("shape", ["rows", "events", "bare"])
async def test_every_body_shape_is_accepted(client: httpx.AsyncClient, shape: str) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=2))
    body: object = pair if shape == "bare" else {shape: pair}

    assert (await post(client, body)).text == "POST success"
    assert len(await sessions(client, player)) == 1


async def test_end_before_start_in_separate_batches_still_completes(client: httpx.AsyncClient) -> None:
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(hours=3)

    await post(client, [end(player, session, begun + timedelta(minutes=5))])
    assert await sessions(client, player) == []
    await post(client, [start(player, session, begun, "SE")])

    [found] = await sessions(client, player)
    assert found["session_id"] == str(session)
    assert found["duration_seconds"] == 300.0


async def test_only_the_newest_twenty_of_twenty_five_sessions_in_end_order(client: httpx.AsyncClient) -> None:
    player = new_player()
    base = now() - timedelta(days=2)
    ended = []
    for i in range(25):
        begun = base + timedelta(hours=i)
        _, pair = session_pair(player, begun, minutes=30)
        ended.append((begun + timedelta(minutes=30)).isoformat(timespec="milliseconds"))
        assert (await post(client, pair)).status_code == 200

    listed = await sessions(client, player)

    assert [s["end_ts"] for s in listed] == list(reversed(ended))[:20]


async def test_limit_chooses_how_many(client: httpx.AsyncClient) -> None:
    player = new_player()
    for i in range(3):
        _, pair = session_pair(player, now() - timedelta(hours=10 - i))
        await post(client, pair)

    assert len(await sessions(client, player, limit=2)) == 2
    assert len(await sessions(client, player, limit=100)) == 3


async def test_player_id_in_a_json_body_on_get_like_postman(client: httpx.AsyncClient) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))
    await post(client, pair)

    response = await client.request("GET", "/sessions", json={"player_id": player})

    assert response.status_code == 200
    assert response.json()["player_id"] == player
    assert len(response.json()["sessions"]) == 1


async def test_an_unknown_player_has_no_sessions(client: httpx.AsyncClient) -> None:
    assert await sessions(client, new_player()) == []


async def test_triple_redelivery_changes_nothing(client: httpx.AsyncClient) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))

    for _ in range(3):
        assert (await post(client, pair)).text == "POST success"
    for event in pair * 3:
        assert (await post(client, [event])).text == "POST success"

    assert len(await sessions(client, player)) == 1


async def test_an_incomplete_session_is_not_listed(client: httpx.AsyncClient) -> None:
    player = new_player()
    await post(client, [start(player, uuid.uuid4(), now() - timedelta(minutes=5))])

    assert await sessions(client, player) == []


async def test_end_earlier_than_start_across_batches_is_never_listed(client: httpx.AsyncClient) -> None:
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(hours=1)

    await post(client, [start(player, session, begun)])
    response = await post(client, [end(player, session, begun - timedelta(minutes=1))])

    assert response.status_code == 200  # the start was accepted earlier; this half is valid alone
    assert await sessions(client, player) == []


async def test_timestamps_with_an_offset_are_converted_to_utc(client: httpx.AsyncClient) -> None:
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(hours=5)
    helsinki = begun.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Helsinki"))
    await post(
        client,
        [
            {
                "event": "start",
                "player_id": player,
                "session_id": str(session),
                "ts": helsinki.isoformat(),
                "country": "FI",
            },
            {
                "event": "end",
                "player_id": player,
                "session_id": str(session),
                "ts": (begun + timedelta(seconds=90)).isoformat(),
            },
        ],
    )

    [found] = await sessions(client, player)
    assert found["start_ts"] == begun.isoformat(timespec="milliseconds")
    assert found["start_ts"].endswith("+00:00")
    assert found["duration_seconds"] == 90.0


@pytest.mark.parametrize(
    "player",
    [
        "'; DROP KEYSPACE system; --",
        "x' OR '1'='1",
        'robert"); DELETE FROM completed_sessions_by_player; --',
        "ünïcødé-플레이어-🎮",
    ],
)
async def test_player_ids_that_look_like_cql_are_just_ids(client: httpx.AsyncClient, player: str) -> None:
    player = player + uuid.uuid4().hex[:6]
    _, pair = session_pair(player, now() - timedelta(hours=1))

    assert (await post(client, pair)).status_code == 200

    [found] = await sessions(client, player)
    assert found["player_id"] == player
