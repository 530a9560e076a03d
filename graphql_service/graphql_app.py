"""The GraphQL endpoint: Strawberry's ASGI app with a per-request context."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from .loaders import Loaders
from .schema import Context


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Response | None) -> Context:  # type: ignore[override]
        state: Any = request.app.state
        # Fresh loaders per request: batching and caching stay within one query.
        return Context(service=state.service, loaders=Loaders(state.service.repo))
