"""Content-Encoding both ways: gzip and deflate request bodies on POST /events and POST
/graphql (the size limit counted on the inflated body), gzip responses when they are large."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import httpx
import pytest

from graphql_service.api.compression import BodyTooLarge, CorruptBody, inflate_body
from graphql_service.api.pages import STATIC_DIR
from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend

from ..events import new_player, now, session_pair
from ..servers import serving

pytestmark = pytest.mark.anyio
JSON = {"content-type": "application/json"}
SUBMIT = "mutation($e: [EventInput!]!) { submitEvents(events: $e) { accepted } }"


def gzip_bomb(inflated_bytes: int) -> bytes:
    """Zeros, gzip-compressed ~1000:1, built a MiB at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    parts = [packer.compress(zeros) for _ in range(inflated_bytes // len(zeros))]
    return b"".join([*parts, packer.flush()])


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def batch(player: str) -> bytes:
    _, events = session_pair(player, now() - timedelta(minutes=30))
    return json.dumps({"rows": events}).encode()


async def sessions_of(client: httpx.AsyncClient, player: str) -> list[dict[str, object]]:
    response = await client.get("/sessions", params={"player_id": player})
    assert response.status_code == 200, response.text
    sessions: list[dict[str, object]] = response.json()["sessions"]
    return sessions


@pytest.mark.parametrize(
    ("coding", "compress"),
    [("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", raw_deflate)],
)
async def test_compressed_event_batches_are_stored(
    client: httpx.AsyncClient, coding: str, compress: Callable[[bytes], bytes]
) -> None:
    player = new_player("gzip")

    response = await client.post(
        "/events", content=compress(batch(player)), headers={**JSON, "content-encoding": coding}
    )

    assert (response.status_code, response.text) == (200, "POST success")
    assert len(await sessions_of(client, player)) == 1


async def test_a_chunked_gzip_body_is_stored(client: httpx.AsyncClient) -> None:
    player = new_player("gzip-chunked")
    compressed = gzip.compress(batch(player))

    async def chunks() -> AsyncIterator[bytes]:
        for offset in range(0, len(compressed), 50):
            yield compressed[offset : offset + 50]

    response = await client.post("/events", content=chunks(), headers={**JSON, "content-encoding": "gzip"})

    assert response.status_code == 200, response.text
    assert len(await sessions_of(client, player)) == 1


async def test_a_gzip_graphql_mutation_runs(client: httpx.AsyncClient) -> None:
    player = new_player("gzip-graphql")
    events = [
        {"event": "START", "playerId": player, "sessionId": str(uuid.uuid4()), "ts": now().isoformat(), "country": "FI"}
    ]
    body = gzip.compress(json.dumps({"query": SUBMIT, "variables": {"e": events}}).encode())

    response = await client.post("/graphql", content=body, headers={**JSON, "content-encoding": "gzip"})

    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"submitEvents": {"accepted": 1}}}


async def test_a_zip_bomb_gets_413_and_stores_nothing(client: httpx.AsyncClient, settings: Settings) -> None:
    player = new_player("bomb")
    # A real batch at the front, then padding that inflates far past the limit.
    body = batch(player)[:-1] + b"," + b" " * (settings.max_body_bytes * 4) + b"}"
    compressed = gzip.compress(body)
    assert len(compressed) < settings.max_body_bytes

    response = await client.post("/events", content=compressed, headers={**JSON, "content-encoding": "gzip"})

    assert response.status_code == 413
    assert response.json()["error"] == (
        f"request body is larger than {settings.max_body_bytes} bytes once decompressed (gzip)"
    )
    assert await sessions_of(client, player) == []


async def test_a_compressed_body_over_the_limit_is_refused_before_inflating(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/events", content=bytes(settings.max_body_bytes + 1), headers={**JSON, "content-encoding": "gzip"}
    )

    assert response.status_code == 413
    assert response.json()["error"] == f"request body is larger than {settings.max_body_bytes} bytes"


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip, gzip", "compress"])
async def test_unsupported_content_encodings_get_415(client: httpx.AsyncClient, coding: str) -> None:
    response = await client.post("/events", content=b"[]", headers={**JSON, "content-encoding": coding})

    assert response.status_code == 415
    assert response.json()["error"] == (
        f"Content-Encoding {coding!r} is not supported; send gzip, deflate or an uncompressed body"
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'[{"event": "start"}]', "incorrect header check"),
        (gzip.compress(b'{"rows": []}')[:-6], "the compressed stream ends too early (truncated)"),
    ],
)
@pytest.mark.parametrize("path", ["/events", "/graphql"])
async def test_corrupt_gzip_is_a_400_naming_the_problem(
    client: httpx.AsyncClient, path: str, body: bytes, problem: str
) -> None:
    response = await client.post(path, content=body, headers={**JSON, "content-encoding": "gzip"})

    assert response.status_code == 400
    assert response.json() == {"error": f"request body is not valid gzip: {problem}"}


async def test_an_empty_gzip_body_is_an_empty_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/events", content=b"", headers={**JSON, "content-encoding": "gzip"})

    assert response.status_code == 400
    assert response.json()["error"].startswith("request body is empty")


def test_inflating_a_bomb_stops_at_the_limit_without_inflating_it_whole() -> None:
    bomb = gzip_bomb(256 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            inflate_body(bomb, "gzip", 64 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 256 MiB would be held if it were inflated whole; the input and the limit are all that is.
    assert peak < len(bomb) * 3 + 1024 * 1024


def test_concatenated_gzip_members_are_one_body() -> None:
    assert inflate_body(gzip.compress(b"[1,") + gzip.compress(b"2]"), "gzip", 100) == b"[1,2]"


def test_data_after_a_deflate_stream_is_corrupt() -> None:
    with pytest.raises(CorruptBody, match="data after the end of the compressed stream"):
        inflate_body(zlib.compress(b"[]") + b"junk", "deflate", 100)


def test_a_body_exactly_at_the_limit_inflates() -> None:
    assert inflate_body(gzip.compress(b"x" * 100), "gzip", 100) == b"x" * 100
    with pytest.raises(BodyTooLarge):
        inflate_body(gzip.compress(b"x" * 101), "gzip", 100)


# Responses.


@pytest.fixture
def gzip_off(settings: Settings, database: Backend) -> Iterator[Settings]:
    yield settings.with_overrides(gzip_min_bytes=0)


async def test_large_responses_are_gzipped_for_clients_that_accept_it(client: httpx.AsyncClient) -> None:
    document = await client.get("/openapi.json", headers={"accept-encoding": "gzip"})
    plain = await client.get("/openapi.json", headers={"accept-encoding": "identity"})

    assert document.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in document.headers["vary"].lower()
    assert int(document.headers["content-length"]) < len(plain.content)
    assert document.json() == plain.json()  # httpx inflated it
    assert "content-encoding" not in plain.headers


async def test_streamed_files_are_compressed_whole(client: httpx.AsyncClient) -> None:
    # A FileResponse arrives in chunks: each is compressed as it streams, none is lost.
    path = STATIC_DIR / "vendor" / "chart.umd.min.js"
    response = await client.get("/dashboard/static/vendor/chart.umd.min.js", headers={"accept-encoding": "gzip"})

    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers
    assert response.content == path.read_bytes()


async def test_small_responses_are_not_compressed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"accept-encoding": "gzip"})

    assert "content-encoding" not in response.headers
    assert response.json() == {"status": "ok"}


async def test_metrics_survive_compression(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics", headers={"accept-encoding": "gzip"})

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"].startswith("text/plain")
    assert "# HELP" in response.text and "http_requests_total" in response.text


async def test_gzip_min_bytes_0_turns_response_compression_off(gzip_off: Settings, database: Backend) -> None:
    async with serving(create_app(gzip_off, database=database)) as client:
        response = await client.get("/openapi.json", headers={"accept-encoding": "gzip"})

    assert response.status_code == 200
    assert "content-encoding" not in response.headers
