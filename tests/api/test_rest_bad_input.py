"""Bad input gets a clear 4xx naming the problem, and nothing from that batch is stored."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database

from ..events import end, new_player, now, session_pair, start

pytestmark = pytest.mark.anyio


def valid_start() -> dict[str, Any]:
    return start(new_player(), uuid.uuid4(), now() - timedelta(minutes=30))


def with_field(field: str, value: object) -> dict[str, Any]:
    event = valid_start()
    if value is _MISSING:
        del event[field]
    else:
        event[field] = value
    return event


_MISSING = object()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event", "pause"),
        ("event", _MISSING),
        ("player_id", ""),
        ("player_id", "x" * 129),
        ("player_id", "tab\there"),
        ("player_id", 42),
        ("player_id", _MISSING),
        ("session_id", "not-a-uuid"),
        ("session_id", 12345),
        ("session_id", _MISSING),
        ("ts", "yesterday"),
        ("ts", 1480656976),
        ("ts", "2999-01-01T00:00:00"),
        ("ts", _MISSING),
        ("country", "FIN"),
        ("country", "F1"),
        ("country", ""),
        ("country", _MISSING),
    ],
)
async def test_each_invalid_field_is_named(client: httpx.AsyncClient, field: str, value: object) -> None:
    response = await client.post("/events", json=[valid_start(), with_field(field, value)])

    assert response.status_code == 400
    body = response.json()
    assert body["error"]
    assert {"index": 1, "field": field} == {k: body["details"][0][k] for k in ("index", "field")}
    assert body["details"][0]["message"]


async def test_an_invalid_event_stores_nothing_from_its_batch(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    player = new_player()
    good_session = uuid.uuid4()
    batch = [start(player, good_session, now() - timedelta(minutes=5)), with_field("session_id", "nope")]

    assert (await client.post("/events", json=batch)).status_code == 400

    # Not even a pending event: ingest validates the whole batch before writing any of it.
    stored = await database.execute_schema(
        f"SELECT session_id FROM {settings.keyspace}.session_events_by_player "
        "WHERE player_id = ? AND folded IN (false, true)",
        (player,),
    )
    assert stored == []
    assert (await client.get("/sessions", params={"player_id": player})).json()["sessions"] == []


async def test_end_before_start_in_one_batch_is_rejected(client: httpx.AsyncClient) -> None:
    player = new_player()
    session = uuid.uuid4()
    begun = now() - timedelta(hours=1)

    response = await client.post(
        "/events", json=[start(player, session, begun), end(player, session, begun - timedelta(seconds=1))]
    )

    assert response.status_code == 400
    assert response.json()["details"] == [
        {"index": 1, "field": "ts", "message": "end is earlier than its session's start"}
    ]
    assert (await client.get("/sessions", params={"player_id": player})).json()["sessions"] == []


@pytest.mark.parametrize("count", [0, 11])
async def test_a_batch_holds_one_to_ten_events(client: httpx.AsyncClient, count: int) -> None:
    player = new_player()
    events = [start(player, uuid.uuid4(), now() - timedelta(minutes=1)) for _ in range(count)]

    response = await client.post("/events", json={"rows": events})

    assert response.status_code == 400
    assert "1 to 10 events" in response.json()["error"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe\x00garbage", b'"just a string"', b'{"rows": "nope"}', b"42", b"", b"[" * 50_000],
)
async def test_bodies_that_are_not_event_batches_get_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/events", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"]


async def test_an_oversized_body_gets_413(client: httpx.AsyncClient, settings: Settings) -> None:
    player = "p" * 100
    events = [start(player, uuid.uuid4(), now()) | {"padding": "x" * settings.max_body_bytes} for _ in range(1)]

    response = await client.post("/events", json=events)

    assert response.status_code == 413
    assert "larger than" in response.json()["error"]


async def test_an_oversized_chunked_body_gets_413(client: httpx.AsyncClient, settings: Settings) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(settings.max_body_bytes // 1000 + 2):
            yield b" " * 1000

    response = await client.post("/events", content=chunks())

    assert response.status_code == 413


async def test_unknown_fields_are_ignored(client: httpx.AsyncClient) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))

    response = await client.post("/events", json=[e | {"platform": "ios"} for e in pair])

    assert response.text == "POST success"
    [listed] = (await client.get("/sessions", params={"player_id": player})).json()["sessions"]
    assert listed["session_id"] == pair[0]["session_id"]
    assert "platform" not in listed


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"player_id": ""},
        {"player_id": "p", "limit": "0"},
        {"player_id": "p", "limit": "101"},
        {"player_id": "p", "limit": "ten"},
    ],
)
async def test_sessions_queries_name_what_is_wrong(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await client.get("/sessions", params=params)

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] in {"player_id", "limit"}


async def test_sessions_with_a_body_that_is_not_an_object(client: httpx.AsyncClient) -> None:
    response = await client.request("GET", "/sessions", content=b"[1, 2]")

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("player_id", '"\\ud800"', "must be valid Unicode text"),
        ("ts", '"0001-01-01T00:00:00+01:00"', "0001-01-01T00:00:00+01:00 is out of range in UTC"),
        ("ts", '"9999-12-31T23:59:59-01:00"', "9999-12-31T23:59:59-01:00 is out of range in UTC"),
    ],
)
async def test_values_that_cannot_be_stored_are_named_not_crashed_on(
    client: httpx.AsyncClient, field: str, raw: str, message: str
) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))
    bad = start(new_player(), uuid.uuid4(), now())
    bad[field] = "PLACEHOLDER"
    body = json.dumps([*pair, bad]).replace('"PLACEHOLDER"', raw)

    response = await client.post("/events", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json()["details"] == [{"index": 2, "field": field, "message": message}]
    assert (await client.get("/sessions", params={"player_id": player})).json()["sessions"] == []


@pytest.mark.parametrize("body", ['{"player_id": "\\ud800"}', '{"player_id": "p", "limit": 1e999}'])
async def test_session_queries_that_cannot_be_answered_get_400(client: httpx.AsyncClient, body: str) -> None:
    response = await client.request("GET", "/sessions", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 400
