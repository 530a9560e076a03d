"""GraphQL subscriptions over graphql-transport-ws at /graphql: a real websocket client against
the in-process app (and against the real server process), once per storage backend."""

from __future__ import annotations

import json
import secrets
import string
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, WebSocketUpgradeError, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend

from ..events import new_player, now, session_pair, start
from .test_graphql import SUBMIT, as_input

pytestmark = pytest.mark.anyio

PROTOCOL = "graphql-transport-ws"
PLAYER_SESSIONS = "subscription($id: ID!, $last: Int) { playerSessions(id: $id, last: $last) { sessionId country } }"
STARTS = "subscription($hours: Int!) { sessionStartsByCountry(hours: $hours) { country sessionStarts } }"
# A push arrives within a poll interval (1 s here); this only bounds a test that would hang.
WAIT = 30.0

App = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app(settings: Settings, database: Backend) -> App:
    """An in-process app with `overrides` on the test settings, served over HTTP and websockets."""

    @asynccontextmanager
    async def serve(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        served = create_app(settings.with_overrides(subscription_poll_seconds=1, **overrides), database=database)
        # The client enters (and leaves) its transport, and with it the transport's task group.
        transport = ASGIWebSocketTransport(app=served)
        async with served.router.lifespan_context(served):
            async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
                client.app = served  # type: ignore[attr-defined]
                yield client

    return serve


async def connected(ws: AsyncWebSocketSession, payload: dict[str, object] | None = None) -> None:
    await ws.send_json({"type": "connection_init", **({"payload": payload} if payload is not None else {})})
    assert await ws.receive_json(timeout=WAIT) == {"type": "connection_ack"}


async def subscribe(ws: AsyncWebSocketSession, op: str, query: str, **variables: object) -> None:
    await ws.send_json({"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}})


# Messages received while waiting for another operation's, per connection and operation.
_held: dict[int, dict[object, list[dict[str, Any]]]] = {}


async def message(ws: AsyncWebSocketSession, op: str) -> dict[str, Any]:
    """The next message of operation `op` (those of other operations are kept for later)."""
    held = _held.setdefault(id(ws), {})
    if held.get(op):
        return held[op].pop(0)
    while True:
        received: dict[str, Any] = await ws.receive_json(timeout=WAIT)
        if received.get("id") == op:
            return received
        held.setdefault(received.get("id"), []).append(received)


async def pushed(ws: AsyncWebSocketSession, op: str) -> Any:
    received = await message(ws, op)
    assert received["type"] == "next", received
    assert "errors" not in received["payload"], received
    return received["payload"]["data"]


def rare_country() -> str:
    # Two random letters: no other test of the run is likely to count starts there.
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(2))


async def test_player_sessions_pushes_the_list_at_once_then_each_completed_session(app: App) -> None:
    player = new_player("live")
    async with app() as client, aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as ws:
        await connected(ws)
        await subscribe(ws, "1", PLAYER_SESSIONS, id=player, last=5)
        assert await pushed(ws, "1") == {"playerSessions": []}

        session, pair = session_pair(player, now() - timedelta(minutes=30), country="SE")
        assert (await client.post("/events", json=pair)).status_code == 200

        assert await pushed(ws, "1") == {"playerSessions": [{"sessionId": str(session), "country": "SE"}]}


async def test_session_starts_by_country_pushes_when_a_count_changes(app: App) -> None:
    country = rare_country()
    async with app() as client, aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as ws:
        await connected(ws)
        await subscribe(ws, "s", STARTS, hours=1)
        first = {c["country"]: c["sessionStarts"] for c in (await pushed(ws, "s"))["sessionStartsByCountry"]}

        event = start(new_player("live"), uuid.uuid4(), now() - timedelta(minutes=2), country)
        assert (await client.post("/events", json=[event])).status_code == 200

        while True:  # another test's starts may change other countries first
            counts = {c["country"]: c["sessionStarts"] for c in (await pushed(ws, "s"))["sessionStartsByCountry"]}
            if counts.get(country) != first.get(country):
                break
        assert counts[country] == first.get(country, 0) + 1


async def test_subscribers_of_the_same_thing_share_one_poller_which_stops_with_the_last(app: App) -> None:
    player = new_player("live")
    async with app(ws_max_subscriptions=10) as client:
        feeds = client.app.state.service.feeds  # type: ignore[attr-defined]
        async with (
            aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as one,
            aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as two,
        ):
            for ws in (one, two):
                await connected(ws)
                for op in "abcde":
                    await subscribe(ws, op, PLAYER_SESSIONS, id=player, last=3)
                for op in "abcde":
                    assert await pushed(ws, op) == {"playerSessions": []}
            assert feeds.pollers == 1

            await subscribe(one, "other", PLAYER_SESSIONS, id=player, last=4)  # other arguments
            await pushed(one, "other")
            assert feeds.pollers == 2

            for op in [*"abcde", "other"]:
                await one.send_json({"id": op, "type": "complete"})
            await subscribe(one, "again", PLAYER_SESSIONS, id=player, last=3)
            await pushed(one, "again")  # the shared poller is still there: its last value comes at once
            assert feeds.pollers == 1
        # Both connections closed: no poller is left reading for nobody.
        assert feeds.pollers == 0


async def test_bad_arguments_are_bad_user_input_and_start_no_poller(app: App) -> None:
    async with app() as client, aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as ws:
        await connected(ws)
        await subscribe(ws, "h", STARTS, hours=0)
        await subscribe(ws, "p", PLAYER_SESSIONS, id="", last=5)

        # Named as the GraphQL arguments, as in queries.
        for op, argument in (("h", "hours"), ("p", "id")):
            received = await message(ws, op)
            errors = received["payload"] if received["type"] == "error" else received["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", received
            assert errors[0]["message"].startswith(f"{argument} ")
        assert client.app.state.service.feeds.pollers == 0  # type: ignore[attr-defined]


async def test_subscriptions_per_connection_are_limited(app: App) -> None:
    async with app(ws_max_subscriptions=2) as client, aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as ws:
        await connected(ws)
        for op in ("1", "2", "3"):
            await subscribe(ws, op, PLAYER_SESSIONS, id=new_player("live"))

        refused = await message(ws, "3")
        await pushed(ws, "1")
        await pushed(ws, "2")

        assert refused["type"] == "error"
        assert refused["payload"][0]["message"] == "Subscription limit reached"


async def test_connections_per_process_are_limited_with_a_json_503(app: App) -> None:
    async with (
        app(ws_max_connections=2) as client,
        aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]),
        aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]),
    ):
        with pytest.raises(WebSocketUpgradeError) as refused:
            async with aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]):
                pass

    assert refused.value.response.status_code == 503
    assert "websocket connections" in json.loads(refused.value.response.content)["error"]


async def test_a_connection_without_subscriptions_is_closed_when_idle(app: App) -> None:
    async with app(ws_idle_seconds=1) as client, aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as ws:
        await connected(ws)
        await subscribe(ws, "1", PLAYER_SESSIONS, id=new_player("live"))
        await pushed(ws, "1")
        await ws.send_json({"id": "1", "type": "complete"})

        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=WAIT)

    assert closed.value.code == 4000


async def test_read_keys_apply_to_websockets_by_header_or_connection_init(app: App) -> None:
    async with app(read_api_keys=("read-key",), api_keys=("ingest-key",)) as client:
        async with aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {}})
            with pytest.raises(WebSocketDisconnect) as refused:
                await ws.receive_json(timeout=WAIT)
        assert refused.value.code == 4403

        async with aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as ws:
            await connected(ws, {"authorization": "Bearer read-key"})
            await subscribe(ws, "1", PLAYER_SESSIONS, id=new_player("live"))
            assert await pushed(ws, "1") == {"playerSessions": []}
            # A read key does not make mutations over the websocket possible.
            _, pair = session_pair(new_player("live"), now() - timedelta(minutes=30))
            await subscribe(ws, "m", SUBMIT, events=[as_input(e) for e in pair])
            refused = await message(ws, "m")
            assert refused["type"] == "error"
            assert "API key" in refused["payload"][0]["message"]

        headers = {"X-API-Key": "ingest-key"}
        async with aconnect_ws("/graphql", client, subprotocols=[PROTOCOL], headers=headers) as ws:
            await connected(ws)
            _, pair = session_pair(new_player("live"), now() - timedelta(minutes=30))
            await subscribe(ws, "m", SUBMIT, events=[as_input(e) for e in pair])
            assert (await pushed(ws, "m")) == {"submitEvents": {"accepted": 2, "expired": 0}}


async def test_allowed_hosts_and_introspection_apply_to_websockets(app: App) -> None:
    async with app(allowed_hosts=("service.test",), graphql_introspection=False) as client:
        with pytest.raises(WebSocketUpgradeError) as refused:
            async with aconnect_ws("/graphql", client, subprotocols=[PROTOCOL], headers={"Host": "evil.test"}):
                pass
        assert refused.value.response.status_code == 400
        assert "ALLOWED_HOSTS" in json.loads(refused.value.response.content)["error"]

        async with aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as ws:
            await connected(ws)
            await subscribe(ws, "i", "subscription { __schema { queryType { name } } }")
            received = await message(ws, "i")
        assert received["type"] == "error"
        assert "introspection" in json.dumps(received["payload"]).lower()


async def test_the_real_server_pushes_sessions_another_process_wrote(
    live_server: str, client: httpx.AsyncClient
) -> None:
    # The server process polls the database: it pushes a session written by this process.
    player = new_player("live")
    async with httpx.AsyncClient(base_url=live_server) as remote:
        async with aconnect_ws("/graphql", remote, subprotocols=[PROTOCOL]) as ws:
            await connected(ws)
            await subscribe(ws, "1", PLAYER_SESSIONS, id=player, last=5)
            assert await pushed(ws, "1") == {"playerSessions": []}

            session, pair = session_pair(player, now() - timedelta(minutes=30), country="NO")
            assert (await client.post("/events", json=pair)).status_code == 200

            assert await pushed(ws, "1") == {"playerSessions": [{"sessionId": str(session), "country": "NO"}]}


# The same mistake, sent over HTTP and over the websocket: the same extensions.code.
SAME_ERRORS = {
    "GRAPHQL_VALIDATION_FAILED": ("subscription { nope }", "{ nope }", {}),
    "BAD_USER_INPUT": (
        STARTS,
        "query($hours: Int!) { sessionStartsByCountry(hours: $hours) { country } }",
        {"hours": "x"},
    ),
}


@pytest.mark.parametrize("code", SAME_ERRORS)
async def test_an_error_has_the_same_code_over_websockets_as_over_http(app: App, code: str) -> None:
    subscription, query, variables = SAME_ERRORS[code]
    async with app() as client, aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as ws:
        over_http = (await client.post("/graphql", json={"query": query, "variables": variables})).json()["errors"]
        await connected(ws)
        await subscribe(ws, "e", subscription, **variables)
        received = await message(ws, "e")

    over_websocket = received["payload"] if received["type"] == "error" else received["payload"]["errors"]
    assert [e["extensions"]["code"] for e in over_websocket] == [e["extensions"]["code"] for e in over_http] == [code]


async def test_a_refused_mutation_over_websockets_is_unauthenticated(app: App) -> None:
    async with app(api_keys=("ingest-key",)) as client, aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as ws:
        await connected(ws)
        await subscribe(ws, "m", SUBMIT, events=[])
        refused = await message(ws, "m")

    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert refused["payload"][0]["message"].startswith("a GraphQL mutation needs an API key")
