"""Whatever a client sends, the answer is a 4xx with a JSON body naming the problem, never a 5xx."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from starlette.types import Message

from graphql_service.api.middleware import BodyLimit

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("body", [b'"x"', b"1", b"null", b"true", b"[1, 2]", b"\xff\xfe", b"[" * 10_000])
async def test_a_graphql_body_that_is_not_an_object_is_a_400_in_json(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]


async def test_graphql_transport_errors_are_json(client: httpx.AsyncClient) -> None:
    batch = await client.post("/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    no_query = await client.post("/graphql", json={"variables": {}})

    assert (batch.status_code, batch.json()) == (400, {"error": "Batching is not enabled"})
    assert no_query.status_code == 400 and "query" in no_query.json()["error"].lower()


async def test_graphql_posts_must_say_they_are_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": "text/plain"}
    )

    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_events_must_be_posted_as_json(client: httpx.AsyncClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/events", content=b"[]", headers=headers)

    assert response.status_code == 415
    assert response.json() == {"error": "POST /events takes Content-Type: application/json"}


async def test_unknown_paths_and_methods_answer_json(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nope")
    wrong_method = await client.delete("/events")

    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"error": "Method Not Allowed"})
    assert wrong_method.headers["allow"] == "POST"


@pytest.mark.parametrize("limit", ["1_0", "\uff15", " 5", "5.0", "0x5", "+5"])
async def test_limits_take_ascii_digits_only(client: httpx.AsyncClient, limit: str) -> None:
    response = await client.get("/sessions", params={"player_id": "p", "limit": limit})

    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "limit", "message": "must be an integer from 1 to 100"}]


async def test_hours_take_ascii_digits_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/session-starts", params={"hours": "1_000"})

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "hours"


@pytest.mark.parametrize("url", ["/players/%FF/stats", "/players/%C3%28/stats", "/sessions?player_id=%FF"])
async def test_urls_that_are_not_utf8_are_a_400(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)

    assert response.status_code == 400
    assert "not valid UTF-8" in response.json()["error"]


async def test_a_client_that_goes_away_mid_body_is_logged_at_info_not_as_a_server_error(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    sent: list[Message] = []
    parts: list[Message] = [
        {"type": "http.request", "body": b'[{"event": "st', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return parts.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/events", "raw_path": b"/events", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"500")],
        "client": ("127.0.0.1", 1), "server": ("test", 80), "app": app,
    }  # fmt: skip
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)

    assert sent[0]["status"] == 499
    assert any(r.levelno == logging.INFO and "disconnected" in r.getMessage() for r in caplog.records)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


async def test_a_body_that_stops_arriving_gets_408() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        while (await receive())["more_body"]:  # type: ignore[operator]
            pass

    sent: list[Message] = []

    async def receive() -> Message:
        if not sent and not getattr(receive, "called", False):
            receive.called = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b"[", "more_body": True}
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    async def send(message: Message) -> None:
        sent.append(message)

    limited = BodyLimit(app, limit=1000, read_timeout=0.2)  # type: ignore[arg-type]
    scope = {"type": "http", "headers": [(b"content-length", b"10")], "method": "POST", "path": "/events"}
    await limited(scope, receive, send)

    assert sent[0]["status"] == 408


async def test_a_body_trickling_in_gets_408_when_the_whole_body_is_late() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        while (await receive())["more_body"]:  # type: ignore[operator]
            pass

    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.sleep(0.05)  # each chunk on time, the body as a whole not
        return {"type": "http.request", "body": b"x", "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    limited = BodyLimit(app, limit=10_000, read_timeout=0.3)  # type: ignore[arg-type]
    await limited({"type": "http", "headers": [], "method": "POST", "path": "/events"}, receive, send)

    assert sent[0]["status"] == 408


async def test_a_chunked_body_cut_short_is_answered_499_not_500() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the app is never reached")

    parts: list[Message] = [{"type": "http.request", "body": b"[", "more_body": True}, {"type": "http.disconnect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return parts.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    limited = BodyLimit(app, limit=10_000)  # type: ignore[arg-type]
    await limited({"type": "http", "headers": [], "method": "POST", "path": "/events"}, receive, send)

    assert sent[0]["status"] == 499


async def test_a_player_id_with_a_line_feed_is_a_bad_player_id_not_an_unknown_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/players/a%0Ab/stats")

    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "player_id", "message": "must not contain control characters"}]


async def test_a_player_id_may_hold_slashes(client: httpx.AsyncClient) -> None:
    response = await client.get("/players/clan/alice/stats")

    assert (response.status_code, response.json()["player_id"]) == (200, "clan/alice")
