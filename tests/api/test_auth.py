"""Production switches: API keys for ingest and reads, a token for /metrics, a Host allow-list,
introspection off. Each one unset leaves its door open (the other tests run that way)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from starlette.routing import Route

from graphql_service.api.auth import HOW_OVER_HTTP as HOW
from graphql_service.api.auth import Access
from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend

from ..events import end, new_player, now, start
from ..servers import serving

pytestmark = pytest.mark.anyio
SUBMIT = "mutation($e: [EventInput!]!) { submitEvents(events: $e) { accepted } }"
SESSIONS = 'query { player(id: "p") { sessions { sessionId } } }'


@pytest.fixture
async def guarded(settings: Settings, database: Backend) -> AsyncIterator[httpx.AsyncClient]:
    locked = settings.with_overrides(
        api_keys=("ingest-key",),
        read_api_keys=("read-key",),
        metrics_token="scrape-me",
        allowed_hosts=("service.test", "*.example.com"),
        graphql_introspection=False,
    )
    async with serving(create_app(locked, database=database)) as client:
        yield client


def pair() -> list[dict[str, object]]:
    player, session = new_player("auth"), uuid.uuid4()
    return [start(player, session, now() - timedelta(minutes=5)), end(player, session, now())]


async def test_ingest_needs_an_ingest_key(guarded: httpx.AsyncClient) -> None:
    missing = await guarded.post("/events", json=pair())
    wrong = await guarded.post("/events", json=pair(), headers={"Authorization": "Bearer read-key"})
    bearer = await guarded.post("/events", json=pair(), headers={"Authorization": "Bearer ingest-key"})
    header = await guarded.post("/events", json=pair(), headers={"X-API-Key": "ingest-key"})

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "API key" in missing.json()["error"]
    assert (bearer.status_code, header.status_code) == (200, 200)


async def test_reads_need_a_read_or_ingest_key(guarded: httpx.AsyncClient) -> None:
    params = {"player_id": "p"}
    assert (await guarded.get("/sessions", params=params)).status_code == 401
    assert (await guarded.get("/players/p/stats")).status_code == 401
    assert (await guarded.get("/session-starts", params={"hours": 1})).status_code == 401
    assert (await guarded.get("/sessions", params=params, headers={"X-API-Key": "read-key"})).status_code == 200
    assert (await guarded.get("/sessions", params=params, headers={"X-API-Key": "ingest-key"})).status_code == 200


async def test_graphql_mutations_need_an_ingest_key_and_queries_a_read_key(guarded: httpx.AsyncClient) -> None:
    events = [
        {"event": "START", "playerId": "p", "sessionId": str(uuid.uuid4()), "ts": now().isoformat(), "country": "FI"}
    ]
    mutation = {"query": SUBMIT, "variables": {"e": events}}
    read = {"X-API-Key": "read-key"}

    assert (await guarded.post("/graphql", json=mutation, headers=read)).status_code == 401
    allowed = await guarded.post("/graphql", json=mutation, headers={"X-API-Key": "ingest-key"})
    assert allowed.json()["data"]["submitEvents"]["accepted"] == 1
    assert (await guarded.post("/graphql", json={"query": SESSIONS})).status_code == 401
    assert (await guarded.post("/graphql", json={"query": SESSIONS}, headers=read)).status_code == 200


async def test_metrics_need_the_token(guarded: httpx.AsyncClient) -> None:
    assert (await guarded.get("/metrics")).status_code == 401
    assert (await guarded.get("/metrics", headers={"Authorization": "Bearer scrape-me"})).status_code == 200
    assert (await guarded.get("/healthz")).status_code == 200  # probes stay open


async def test_only_allowed_hosts_are_served(guarded: httpx.AsyncClient) -> None:
    other = await guarded.get("/healthz", headers={"Host": "evil.test"})
    sub = await guarded.get("/healthz", headers={"Host": "api.example.com:8000"})

    assert (other.status_code, other.json()) == (400, {"error": "this Host is not served here (ALLOWED_HOSTS)"})
    assert sub.status_code == 200


async def test_introspection_can_be_turned_off(guarded: httpx.AsyncClient) -> None:
    body = (
        await guarded.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}, headers={"X-API-Key": "read-key"}
        )
    ).json()

    assert body.get("data") is None
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_graphql_access_follows_the_operation_that_runs(guarded: httpx.AsyncClient) -> None:
    # Decided on Strawberry's parse of the document, not on its text: a document holding a
    # mutation runs its query with a read key, and the word "mutation" makes nothing one.
    document = f"query Read {{ mutation: __typename }} {SUBMIT.replace('mutation', 'mutation Write', 1)}"
    read = {"X-API-Key": "read-key"}

    query = await guarded.post("/graphql", json={"query": document, "operationName": "Read"}, headers=read)
    mutation = await guarded.post(
        "/graphql", json={"query": document, "operationName": "Write", "variables": {"e": []}}, headers=read
    )

    assert (query.status_code, query.json()) == (200, {"data": {"mutation": "Query"}})
    assert mutation.status_code == 401
    assert mutation.json()["error"].startswith("a GraphQL mutation needs an API key")
    assert mutation.headers["www-authenticate"] == "Bearer"


async def test_graphiql_stays_open_while_queries_need_a_key(guarded: httpx.AsyncClient) -> None:
    page = await guarded.get("/graphql", headers={"accept": "text/html"})
    query = await guarded.get("/graphql", params={"query": "{ __typename }"})

    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert (query.status_code, query.json()["error"]) == (401, "GraphQL needs an API key: " + HOW)


def test_every_route_says_who_may_call_it(settings: Settings) -> None:
    # The rule lives on the routes: there is no second table of paths to keep in step.
    app = create_app(settings)
    routes = [r for r in app.routes if isinstance(r, Route)]
    assert routes and all(isinstance(getattr(r, "access", None), Access) for r in routes)
