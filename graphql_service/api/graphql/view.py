"""The GraphQL endpoint: Strawberry's ASGI app, held to GraphQL over HTTP
(https://graphql.github.io/graphql-over-http/draft/) and answering transport errors as JSON
like every other error of the service.

Over HTTP: queries by GET or POST, mutations by POST only (GET: 405, `Allow: POST`),
subscriptions not at all (400: they are served over websockets). A client that asks for
`application/graphql-response+json` gets it, and then a request error (the document does
not parse or validate, a variable does not fit its type) answers 400 without `data`; with
`application/json` such errors answer 200, as the specification wants for that media type.

Subscriptions run over websockets at the same path, graphql-transport-ws only. Browsers
cannot set headers on a websocket, so the key may also come in `connection_init`'s payload
(`{"authorization": "Bearer <key>"}` or `{"x-api-key": "<key>"}`); a connection needs what a
query needs (auth.Access.READ), each operation what its type needs (access.py). Connections
per process (WS_MAX_CONNECTIONS) and operations per connection (WS_MAX_SUBSCRIPTIONS) are
bounded, and a connection idle for WS_IDLE_SECONDS is closed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

# Strawberry's transport errors ("Batching is not enabled", ...) are its cross_web
# dependency's HTTPException (declared in pyproject.toml).
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message, SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from .. import json_input
from ..auth import HOW_OVER_WEBSOCKETS, Access, Keys, presented_key
from ..errors import error_json, unless_json
from ..graphiql import graphiql_page
from .access import UNAUTHENTICATED
from .context import Context
from .loaders import Loaders

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# What each method may run; subscriptions need a stream, which HTTP here does not offer.
HTTP_OPERATIONS = {"GET": {OperationType.QUERY}, "POST": {OperationType.QUERY, OperationType.MUTATION}}
SUBSCRIPTIONS_OVER_WEBSOCKETS = (
    "subscriptions are served over websockets at /graphql (the graphql-transport-ws protocol), not over HTTP"
)


def response_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when Accept ranks it at least as high as
    `application/json` (Apollo Client 4 sends `application/graphql-response+json,
    application/json;q=0.9`); otherwise, `*/*` or no Accept at all included, `application/json`."""
    ranks: dict[str, float] = {}
    for media_range in (accept or "").split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranks[media_type.lower()] = max(quality, ranks.get(media_type.lower(), 0.0))
    wanted = ranks.get(GRAPHQL_RESPONSE, 0.0)
    return GRAPHQL_RESPONSE if wanted > 0 and wanted >= ranks.get(JSON, 0.0) else JSON


def is_request_error(response: GraphQLHTTPResponse) -> bool:
    """No execution began: the document did not parse or validate, or a variable did not fit.
    (An error of a field has a path, and the response then has `data`, maybe null.)"""
    errors: list[Any] = response.get("errors") or []
    return response.get("data") is None and bool(errors) and all("path" not in e for e in errors)


class _Refused(HTTPException):
    def __init__(self, status_code: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status_code, reason)
        self.headers = headers


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
    """Strawberry's graphql-transport-ws handler, plus the idle timer, the start rate, and
    no traceback for a client that left."""

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
        keys: Keys | None = None,
        max_connections: int = 1000,
        idle_seconds: float = 300,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        # A client that connects and never says connection_init holds a slot for nothing.
        kwargs.setdefault("connection_init_wait_timeout", timedelta(seconds=min(idle_seconds, 10)))
        super().__init__(*args, **kwargs)
        self.keys = keys or Keys()
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
        else:
            try:
                response = await self.run(request)
            except HTTPException as exc:
                # Strawberry answers these in plain text ("Batching is not enabled", …).
                response = error_json(exc.status_code, exc.reason, headers=getattr(exc, "headers", None))
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
        """After connection_init: a connection needs what a query needs (else 4403)."""
        params = {k.lower(): v for k, v in context.connection_params.items() if isinstance(v, str)}
        context.key = context.key or presented_key(params)
        if not context.keys.allows(Access.READ, context.key):
            raise ConnectionRejectionError
        plain_ack: UnsetType = UNSET  # a connection_ack without a payload
        return plain_ack

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Strawberry's own would let GET and POST run subscriptions (for its multipart and
        # SSE transports), which crash over plain HTTP.
        method = request_adapter.method
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=HTTP_OPERATIONS[method],
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise _Refused(400, SUBSCRIPTIONS_OVER_WEBSOCKETS) from None
            raise _Refused(405, f"{exc.as_http_error_reason(method)}: send them with POST", {"Allow": "POST"}) from None
        except CannotGetOperationTypeError as exc:
            raise _Refused(400, exc.as_http_error_reason()) from None
        except MissingQueryError:
            raise _Refused(400, "No GraphQL query found in the request") from None

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        # Chosen once from Accept; create_response answers in it.
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or JSON
        if isinstance(response_data, dict):
            errors: list[Any] = response_data.get("errors") or []
            refusal = next((e for e in errors if (e.get("extensions") or {}).get("code") == UNAUTHENTICATED), None)
            if refusal is not None:
                return error_json(401, refusal["message"], headers={"WWW-Authenticate": "Bearer"})
            if media_type == GRAPHQL_RESPONSE and is_request_error(response_data):
                response_data = {key: value for key, value in response_data.items() if key != "data"}  # type: ignore[assignment]
                sub_response.status_code = 400
        response = super().create_response(response_data, sub_response)
        if media_type == GRAPHQL_RESPONSE:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
        return response

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
        key = presented_key(request.headers)
        # Fresh loaders per request: batching and caching stay within one query. A websocket
        # connection's context lives as long as the connection, so its loaders only batch.
        if isinstance(request, WebSocket):
            loaders = Loaders(state.service, cache=False)
            return Context(state.service, loaders, self.keys, key, how=HOW_OVER_WEBSOCKETS)
        return Context(state.service, Loaders(state.service), self.keys, key)
