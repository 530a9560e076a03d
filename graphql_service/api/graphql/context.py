"""The GraphQL endpoint: Strawberry's ASGI app with a fresh context (service + loaders) per
request, and transport errors answered as JSON like every other error of the service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Strawberry's transport-error type (it lives in its cross_web dependency).
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from ...core.service import SessionService
from .loaders import Loaders


@dataclass
class Context:
    service: SessionService
    loaders: Loaders


class GraphQLApp(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        response: Response
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and content_type != "application/json":
            response = JSONResponse({"error": "POST /graphql takes Content-Type: application/json"}, status_code=415)
        else:
            try:
                response = await self.run(request)
            except HTTPException as exc:
                # Strawberry answers these in plain text ("Batching is not enabled", …).
                response = JSONResponse({"error": exc.reason}, status_code=exc.status_code)
        await response(scope, receive, send)

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
