"""The GraphQL endpoint: Strawberry's ASGI app with a fresh context (service + loaders) per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from ...core.service import SessionService
from .loaders import Loaders


@dataclass
class Context:
    service: SessionService
    loaders: Loaders


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Response | None) -> Context:  # type: ignore[override]
        state: Any = request.app.state
        # Fresh loaders per request: batching and caching stay within one query.
        return Context(service=state.service, loaders=Loaders(state.service))
