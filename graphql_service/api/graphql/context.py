"""The GraphQL endpoint: Strawberry's ASGI app with a fresh context (service + loaders) per
request, and transport errors answered as JSON like every other error of the service."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Strawberry's transport-error type (it lives in its cross_web dependency).
from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from ...core.service import SessionService
from ..auth import accepted, presented_key, unauthorized
from ..errors import error_json, unless_json
from ..graphiql import graphiql_page
from .loaders import Loaders


def _operation_text(request: Request, body: bytes) -> str:
    """The GraphQL document of a GET (query string) or POST (JSON body), or ''."""
    if request.method == "GET":
        return request.query_params.get("query", "")
    try:
        data = json.loads(body)
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


class GraphQLApp(GraphQL[Context, None]):
    def __init__(
        self, *args: Any, write_keys: Sequence[str] = (), read_keys: Sequence[str] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.write_keys = tuple(write_keys)
        self.read_keys = (*read_keys, *write_keys) if read_keys else ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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

    def parse_json(self, data: str | bytes) -> Any:
        try:
            parsed = self.decode_json(data)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
            raise HTTPException(400, "request body is not valid JSON") from None
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, 'request body must be a JSON object such as {"query": "{ __typename }"}')
        return parsed

    async def get_context(self, request: Request | WebSocket, response: Response | None) -> Context:  # type: ignore[override]
        state: Any = request.app.state
        # Fresh loaders per request: batching and caching stay within one query.
        return Context(service=state.service, loaders=Loaders(state.service))
