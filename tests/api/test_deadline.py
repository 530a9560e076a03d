"""The per-request time budget, on a bare ASGI app: no storage behaviour here, only time.
(With Cassandra itself, tests/cluster/test_node_faults.py freezes a node.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from graphql_service.api.deadline import Deadline

pytestmark = pytest.mark.anyio


async def slow(request: Request) -> PlainTextResponse:
    await asyncio.sleep(float(request.query_params["seconds"]))
    return PlainTextResponse("done")


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


async def trickle(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            await asyncio.sleep(0.2)
            yield b"x"

    return StreamingResponse(chunks())


def app_with(seconds: float) -> httpx.AsyncClient:
    app = Starlette(
        routes=[Route("/slow", slow), Route("/echo", echo, methods=["POST"]), Route("/trickle", trickle)],
        middleware=[Middleware(Deadline, seconds=seconds)],
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service.test")


async def test_a_request_past_its_budget_answers_503_with_retry_after() -> None:
    async with app_with(0.2) as client:
        response = await client.get("/slow", params={"seconds": "5"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"error": "storage temporarily unavailable; the request is safe to retry"}


async def test_a_request_within_its_budget_is_untouched() -> None:
    async with app_with(2) as client:
        response = await client.get("/slow", params={"seconds": "0.01"})
    assert response.status_code == 200
    assert response.text == "done"


async def test_time_spent_waiting_for_the_body_does_not_count() -> None:
    async def slow_body() -> AsyncIterator[bytes]:
        for _ in range(4):
            await asyncio.sleep(0.1)
            yield b"abc"

    async with app_with(0.25) as client:
        response = await client.post("/echo", content=slow_body())
    assert response.status_code == 200
    assert response.text == "12"


async def test_an_answer_already_on_its_way_is_let_finish() -> None:
    async with app_with(0.3) as client:
        response = await client.get("/trickle")
    assert response.status_code == 200
    assert response.text == "xxx"
