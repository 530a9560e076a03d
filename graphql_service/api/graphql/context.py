"""The GraphQL endpoint: Strawberry's ASGI app with a fresh context (service + loaders) per
request, and transport errors answered as JSON like every other error of the service.

Subscriptions run over websockets at the same path, graphql-transport-ws only. The same keys
apply as over HTTP: a read key (READ_API_KEYS) to connect at all, an ingest key (API_KEYS)
to send a mutation; browsers cannot set headers on a websocket, so the key may also come in
`connection_init`'s payload (`{"authorization": "Bearer <key>"}` or `{"x-api-key": "<key>"}`).
Connections per process (WS_MAX_CONNECTIONS) and operations per connection
(WS_MAX_SUBSCRIPTIONS) are bounded, and a connection idle for WS_IDLE_SECONDS is closed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

# Strawberry's transport-error type (it lives in its cross_web dependency).
from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message, SubscribeMessage
from strawberry.types.unset import UNSET, UnsetType

from ...core.service import SessionService
from .. import json_input
from ..auth import accepted, presented_key, unauthorized
from ..errors import error_json, unless_json
from ..graphiql import graphiql_page
from .loaders import Loaders


def _operation_text(request: Request, body: bytes) -> str:
    """The GraphQL document of a GET (query string) or POST (JSON body), or ''."""
    if request.method == "GET":
        return request.query_params.get("query", "")
    try:
        data = json_input.loads(body)
    except ValueError:
        return ""
    query = data.get("query") if isinstance(data, dict) else None
    return query if isinstance(query, str) else ""


def _is_mutation(text: str) -> bool:
    if "mutation" not in text:
        return False
    try:
        document = parse(text)
    except GraphQLError:
        return False  # Strawberry answers the syntax error itself
    return any(
        isinstance(d, OperationDefinitionNode) and d.operation is OperationType.MUTATION for d in document.definitions
    )


@dataclass
class Context:
    service: SessionService
    loaders: Loaders
    # Websocket connections only: the key of the upgrade request's headers, what
    # connection_init carried (Strawberry fills it in), and whether mutations may run.
    header_key: str | None = None
    connection_params: dict[str, object] = field(default_factory=dict)
    may_write: bool = True


def _params_key(params: dict[str, object]) -> str | None:
    """The key in connection_init's payload, spelled like the HTTP headers (any case)."""
    return presented_key(Headers({k.lower(): v for k, v in params.items() if isinstance(v, str)}))


# Operations the websockets of one process may start, per second (and at once). Starting
# one costs ~3 ms of CPU (validation remembered): 500 connections x 20 subscriptions took the
# process for half a minute. Beyond it a `subscribe` gets an `error` (CAPACITY_REACHED) at
# once; the dashboard starts 2 or 3 per page.
STARTS_PER_SECOND = 100
STARTS_AT_ONCE = 200


class StartRate:
    """A token bucket shared by every connection of the process."""

    def __init__(self, per_second: float = STARTS_PER_SECOND, burst: float = STARTS_AT_ONCE) -> None:
        self.per_second, self.burst = per_second, burst
        self._tokens, self._at = burst, 0.0

    def take(self) -> bool:
        now = asyncio.get_running_loop().time()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second) if self._at else self.burst
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class TransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, plus the mutation key check and the idle timer."""

    view: GraphQLApp

    async def handle(self) -> None:
        self._last_message = asyncio.get_running_loop().time()
        watchdog = asyncio.create_task(self._close_when_idle())
        try:
            await super().handle()
        finally:
            watchdog.cancel()

    async def handle_message(self, message: Message) -> None:
        self._last_message = asyncio.get_running_loop().time()
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload: Any = message.get("payload")
        query = payload.get("query") if isinstance(payload, dict) else None
        if (
            self.connection_acknowledged
            and not self.context.may_write
            and isinstance(query, str)
            and _is_mutation(query)
        ):
            refusal = "a GraphQL mutation needs an API key: send it in connection_init or the upgrade's headers"
            await self.send_message({"id": message["id"], "type": "error", "payload": [{"message": refusal}]})
            return
        if self.connection_acknowledged and not self.view.start_rate.take():
            busy: dict[str, Any] = {
                "message": f"more than {STARTS_PER_SECOND} operations a second start on this server; retry later",
                "extensions": {"code": "CAPACITY_REACHED"},
            }
            refused: Any = {"id": message["id"], "type": "error", "payload": [busy]}
            await self.send_message(refused)
            return
        await super().handle_subscribe(message)

    async def handle_task_exception(self, error: Exception) -> None:
        # A client that left while an operation was sending: expected, and not worth a
        # traceback. Formatting one costs milliseconds; 500 clients leaving at once with 20
        # operations each kept the process busy for most of a minute.
        if isinstance(error, WebSocketDisconnected):
            return
        await super().handle_task_exception(error)

    async def _close_when_idle(self) -> None:
        # Idle: no operation running and no message from the client for WS_IDLE_SECONDS.
        loop, idle = asyncio.get_running_loop(), self.view.idle_seconds
        while True:
            now = loop.time()
            if self.operations:
                self._last_message = now
            if now >= self._last_message + idle:
                await self.websocket.close(code=4000, reason="Idle connection closed")
                return
            await asyncio.sleep(self._last_message + idle - now)


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWS

    def __init__(
        self,
        *args: Any,
        write_keys: Sequence[str] = (),
        read_keys: Sequence[str] = (),
        max_connections: int = 1000,
        idle_seconds: float = 300,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        # A client that connects and never says connection_init holds a slot for nothing.
        kwargs.setdefault("connection_init_wait_timeout", timedelta(seconds=min(idle_seconds, 10)))
        super().__init__(*args, **kwargs)
        self.write_keys = tuple(write_keys)
        self.read_keys = (*read_keys, *write_keys) if read_keys else ()
        self.max_connections = max_connections
        self.idle_seconds = idle_seconds
        self.connections = 0
        self.start_rate = StartRate()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        response: Response | None
        if request.method == "POST" and (refused := unless_json(request.headers.get("content-type"), "POST /graphql")):
            response = refused
        elif (response := await self._refusal(request)) is not None:
            pass
        else:
            try:
                response = await self.run(request)
            except HTTPException as exc:
                # Strawberry answers these in plain text ("Batching is not enabled", …).
                response = error_json(exc.status_code, exc.reason)
        await response(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.connections >= self.max_connections:
            await receive()  # websocket.connect, answered with an HTTP denial
            refused = error_json(
                503, "too many GraphQL websocket connections; retry later", headers={"Retry-After": "5"}
            )
            await refused(scope, receive, send)
            return
        self.connections += 1
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.connections -= 1

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """After connection_init: refuse (4403) a connection without a read key when
        READ_API_KEYS is set; note whether it may send mutations."""
        key = context.header_key or _params_key(context.connection_params)
        if self.read_keys and not accepted(key, self.read_keys):
            raise ConnectionRejectionError
        context.may_write = not self.write_keys or accepted(key, self.write_keys)
        plain_ack: UnsetType = UNSET  # a connection_ack without a payload
        return plain_ack

    async def _refusal(self, request: Request) -> Response | None:
        """401 for a mutation without an ingest key (API_KEYS), or any operation without a
        read key (READ_API_KEYS). GraphiQL's page itself (a GET without a query) stays open."""
        if not (self.write_keys or self.read_keys) or request.method not in ("GET", "POST"):
            return None
        if request.method == "GET" and "query" not in request.query_params:
            return None
        key = presented_key(request.headers)
        text = _operation_text(request, await request.body() if request.method == "POST" else b"")
        if self.write_keys and _is_mutation(text) and not accepted(key, self.write_keys):
            return unauthorized("a GraphQL mutation")
        if self.read_keys and not accepted(key, self.read_keys):
            return unauthorized("GraphQL")
        return None

    async def render_graphql_ide(self, request: Request) -> Response:
        # Strawberry's page loads React and GraphiQL from a CDN; ours are served from here.
        return graphiql_page()

    def decode_json(self, data: str | bytes) -> object:
        # Every body, query-string `variables` and websocket message comes through here; a
        # message nested too deep closes its websocket with 4400 like any invalid JSON.
        return json_input.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            parsed = self.decode_json(data)
        except ValueError:  # not JSON, not UTF-8, or nested too deep
            raise HTTPException(400, "request body is not valid JSON") from None
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, 'request body must be a JSON object such as {"query": "{ __typename }"}')
        return parsed

    async def get_context(self, request: Request | WebSocket, response: Response | None) -> Context:  # type: ignore[override]
        state: Any = request.app.state
        # Fresh loaders per request: batching and caching stay within one query. A websocket
        # connection's context lives as long as the connection, so its loaders only batch.
        if isinstance(request, WebSocket):
            loaders = Loaders(state.service, cache=False)
            return Context(service=state.service, loaders=loaders, header_key=presented_key(request.headers))
        return Context(service=state.service, loaders=Loaders(state.service))
