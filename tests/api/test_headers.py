"""The headers every answer carries: nosniff everywhere, `Cache-Control: no-store` on the API's
answers (players' data), the pages' and static files' own caching left alone."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_json_reads_are_not_stored_and_not_sniffed(client: httpx.AsyncClient) -> None:
    answers = [
        await client.get("/sessions", params={"player_id": "headers"}),
        await client.get("/players/headers/stats"),
        await client.get("/session-starts", params={"hours": 1}),
        await client.post("/graphql", json={"query": '{ player(id: "headers") { sessions { sessionId } } }'}),
        await client.get("/graphql", params={"query": "{ __typename }"}),
        await client.get("/openapi.json"),
    ]

    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store", answer.url
        assert answer.headers["x-content-type-options"] == "nosniff", answer.url


async def test_errors_and_text_answers_are_not_sniffed_either(client: httpx.AsyncClient) -> None:
    answers = [
        await client.get("/no-such-route"),
        await client.get("/sessions"),  # 400: no player_id
        await client.post("/events", content=b"[]", headers={"content-type": "text/plain"}),  # 415
        await client.get("/metrics"),
        await client.get("/healthz"),
    ]

    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.url
        assert answer.headers["cache-control"] == "no-store", answer.url


async def test_pages_and_static_files_keep_their_own_caching(client: httpx.AsyncClient) -> None:
    page = await client.get("/dashboard")
    script = await client.get("/dashboard/static/dashboard.js")

    assert page.headers["cache-control"] == "no-cache"
    assert "etag" in script.headers and "cache-control" not in script.headers
    assert page.headers["x-content-type-options"] == script.headers["x-content-type-options"] == "nosniff"
