"""What a hostile client sends, against the real server process (`serve`, uvicorn with the
service's own HTTP protocol, api/connections.py) on the real node: connections that never
finish their headers, too many connections from one address, Host tricks, JSON nested too
deep on every input path, field suggestions with introspection off, and more distinct
subscriptions than a process polls.

Clients that must be told apart by address connect from their own loopback address
(127.0.0.x, all of it is the loopback interface on Linux)."""

from __future__ import annotations

import json
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from graphql_service.api.graphql.view import StartRate
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend

from ..servers import served

CAP = 4  # HTTP_MAX_CONNECTIONS_PER_CLIENT of the served process
PLAYER_SESSIONS = "subscription($id: ID!) { playerSessions(id: $id) { sessionId } }"
# Only bounds a test that would otherwise hang; nothing is timed.
WAIT = 20.0


@pytest.fixture(scope="module")
def server(settings: Settings, database: Backend) -> Iterator[str]:
    log_path = Path(tempfile.gettempdir()) / f"hostile-server-{settings.keyspace}.log"
    with served(
        settings,
        log_path,
        HTTP_HEADER_TIMEOUT_SECONDS="1",
        HTTP_MAX_CONNECTIONS_PER_CLIENT=str(CAP),
        GRAPHQL_INTROSPECTION="false",
        SUBSCRIPTION_MAX_FEEDS="2",
        SUBSCRIPTION_POLL_SECONDS="1",
    ) as base_url:
        yield base_url


def dial(base_url: str, source: str = "127.0.0.1") -> socket.socket:
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    sock = socket.create_connection((parts.hostname, parts.port), timeout=WAIT, source_address=(source, 0))
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def exchange(base_url: str, request: bytes, source: str = "127.0.0.1") -> tuple[int, bytes]:
    with dial(base_url, source) as sock:
        sock.sendall(request)
        raw = answer(sock)
    status = int(raw.split(b" ", 2)[1])
    return status, raw.partition(b"\r\n\r\n")[2]


def host_of(base_url: str) -> bytes:
    return urlsplit(base_url).netloc.encode()


# -- connections ------------------------------------------------------------------------


def test_a_connection_whose_headers_never_finish_is_closed_with_408(server: str) -> None:
    with dial(server, "127.0.0.21") as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: " + host_of(server) + b"\r\nX-Slow: ")
        raw = answer(sock)  # before the header timeout, this waited for ever

    assert raw.startswith(b"HTTP/1.1 408 ")
    assert json.loads(raw.partition(b"\r\n\r\n")[2]) == {"error": "the request headers did not arrive in time"}


def test_a_connection_that_sends_nothing_is_closed(server: str) -> None:
    with dial(server, "127.0.0.22") as sock:
        assert answer(sock) == b""


def test_one_address_holds_at_most_its_cap_of_connections(server: str) -> None:
    # Each held connection has sent its headers and promised a body it never sends: past the
    # header timeout, held until the body's own timeout.
    promise = b"POST /events HTTP/1.1\r\nHost: " + host_of(server) + b"\r\nContent-Type: application/json\r\n"
    held = [dial(server, "127.0.0.23") for _ in range(CAP)]
    try:
        for sock in held:
            sock.sendall(promise + b"Content-Length: 100\r\n\r\n")
        # Answered at once, before a request: one sent already may meet a reset instead.
        with dial(server, "127.0.0.23") as one_more:
            refused = answer(one_more)
        other_status, _ = exchange(server, b"GET /healthz HTTP/1.0\r\n\r\n", source="127.0.0.24")
    finally:
        for sock in held:
            sock.close()

    assert refused.startswith(b"HTTP/1.1 503 ")
    assert json.loads(refused.partition(b"\r\n\r\n")[2]) == {
        "error": "too many connections from this address; retry later"
    }
    assert other_status == 200
    assert served_again(server, "127.0.0.23"), "closed connections still counted"


def served_again(server: str, source: str) -> bool:
    """Closed connections no longer count, once the server has noticed they closed."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            if exchange(server, b"GET /healthz HTTP/1.0\r\n\r\n", source=source)[0] == 200:
                return True
        except ConnectionResetError:
            pass
        time.sleep(0.05)
    return False


def test_websockets_count_towards_the_cap(server: str) -> None:
    parts = urlsplit(server)
    sockets = [dial(server, "127.0.0.25") for _ in range(CAP)]
    sessions = [
        connect(f"ws://{parts.netloc}/graphql", sock=s, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        for s in sockets
    ]
    try:
        with dial(server, "127.0.0.25") as one_more:
            refused = answer(one_more)
    finally:
        for session in sessions:
            session.close()
    assert refused.startswith(b"HTTP/1.1 503 ")
    assert served_again(server, "127.0.0.25")


# -- Host -------------------------------------------------------------------------------


def test_two_host_headers_are_refused(server: str) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: " + host_of(server) + b"\r\nHost: evil.test\r\n\r\n"
    status, body = exchange(server, request)
    assert (status, json.loads(body)) == (400, {"error": "a request must have one Host header, not several"})


def test_an_absolute_target_naming_another_host_is_refused(server: str) -> None:
    other = b"GET http://evil.test/healthz HTTP/1.1\r\nHost: " + host_of(server) + b"\r\n\r\n"
    same = (
        b"GET " + server.encode() + b"/healthz HTTP/1.1\r\nHost: " + host_of(server) + b"\r\nConnection: close\r\n\r\n"
    )

    status, body = exchange(server, other)
    assert (status, json.loads(body)) == (400, {"error": "the request target names another host than the Host header"})
    assert exchange(server, same)[0] == 200


def test_an_http_1_1_request_needs_a_host_header(server: str) -> None:
    status, body = exchange(server, b"GET /healthz HTTP/1.1\r\n\r\n")
    assert (status, json.loads(body)) == (400, {"error": "an HTTP/1.1 request needs a Host header"})
    assert exchange(server, b"GET /healthz HTTP/1.0\r\n\r\n")[0] == 200  # HTTP/1.0 may omit it


# -- JSON nested too deep ---------------------------------------------------------------


def graphql_ws(server: str) -> ClientConnection:
    return connect(f"ws://{urlsplit(server).netloc}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=WAIT)  # type: ignore[arg-type]


def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=WAIT)
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


@pytest.mark.parametrize(("depth", "code"), [(100_000, 1009), (30_000, 4400), (40, 4400)])
def test_a_websocket_message_nested_too_deep_closes_with_a_code(server: str, depth: int, code: int) -> None:
    # 100,000: over the message size limit (MAX_BODY_BYTES); 30,000: the parser's recursion,
    # which dropped the connection without a close code; 40: parses, but is deeper than allowed.
    with graphql_ws(server) as ws:
        ws.send("[" * depth + "]" * depth)
        assert close_code(ws) == code


@pytest.mark.parametrize("path", ["/events", "/graphql"])
@pytest.mark.parametrize("depth", [30_000, 40])
def test_a_body_nested_too_deep_is_a_400(server: str, path: str, depth: int) -> None:
    body = "[" * depth + "]" * depth
    answered = httpx.post(f"{server}{path}", content=body, headers={"Content-Type": "application/json"})

    assert answered.status_code == 400
    assert "nested deeper than 32 levels" in answered.text or "not valid JSON" in answered.text
    if path == "/events":  # REST says why
        assert "nested deeper than 32 levels" in answered.json()["error"]


# -- GraphQL ----------------------------------------------------------------------------


def test_no_field_is_suggested_when_introspection_is_off(server: str) -> None:
    misspelt = [
        {"query": '{ playr(id: "p") { id } }'},
        {
            "query": "query($s: SeriesStep!) { sessionStartsSeries(hours: 1, step: $s) { country } }",
            "variables": {"s": "HOURR"},
        },
    ]
    for request in misspelt:
        errors = httpx.post(f"{server}/graphql", json=request).json()["errors"]
        assert errors and not any("Did you mean" in e["message"] for e in errors), errors


def subscribe(ws: ClientConnection, op: str, player: str) -> None:
    payload = {"query": PLAYER_SESSIONS, "variables": {"id": player}}
    ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))


def next_message(ws: ClientConnection, op: str, held: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The next message of operation `op`; those of others are kept in `held` for later."""
    if held.get(op):
        return held[op].pop(0)
    while True:
        received: dict[str, Any] = json.loads(ws.recv(timeout=WAIT))
        if received.get("id") == op:
            return received
        held.setdefault(str(received.get("id")), []).append(received)


def test_distinct_subscriptions_beyond_the_process_bound_are_refused_until_one_ends(server: str) -> None:
    held: dict[str, list[dict[str, Any]]] = {}
    with graphql_ws(server) as ws:
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(timeout=WAIT)) == {"type": "connection_ack"}
        subscribe(ws, "a", "feed-a")
        subscribe(ws, "b", "feed-b")
        subscribe(ws, "a-again", "feed-a")  # the same thing: shares a's feed
        for op in ("a", "b", "a-again"):
            assert next_message(ws, op, held)["type"] == "next"

        subscribe(ws, "c", "feed-c")  # a third distinct one: SUBSCRIPTION_MAX_FEEDS is 2
        refused = next_message(ws, "c", held)
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "CAPACITY_REACHED"

        ws.send(json.dumps({"id": "b", "type": "complete"}))
        deadline, attempt = time.monotonic() + WAIT, 0
        while True:  # b's feed is dropped once the server has handled its complete
            attempt += 1
            subscribe(ws, f"d{attempt}", "feed-d")
            answered = next_message(ws, f"d{attempt}", held)
            if "errors" not in answered.get("payload", {}):
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert answered["type"] == "next"


@pytest.mark.anyio
async def test_operations_start_at_a_bounded_rate_per_process() -> None:
    # A burst of starts is taken, one more is refused (the process-wide bucket the websocket
    # handler asks before running a subscribe); nothing here waits for it to refill.
    rate = StartRate(per_second=1, burst=3)
    assert [rate.take() for _ in range(4)] == [True, True, True, False]
