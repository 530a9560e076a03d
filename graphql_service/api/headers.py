"""Headers every answer carries: `X-Content-Type-Options: nosniff` (a browser must not read a
JSON or text answer as HTML or script), and `Cache-Control: no-store` on every answer that
does not set its own caching (the pages say `no-cache`) or carry validators (the static files'
ETag and Last-Modified).

`no-store`, not `no-cache` or a max-age: the answers are players' data, which no shared cache
or browser disk should keep, and a read is only worth having fresh (a session completes, a
count moves, any second); the service has no validators to make revalidation cheap either."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = "no-store"
# What an answer made outside the middleware (the 500 of an unexpected exception) sets itself.
STANDARD_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": NO_STORE}


class StandardHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if not any(name in headers for name in ("cache-control", "etag", "last-modified")):
                    headers["Cache-Control"] = NO_STORE
            await send(message)

        await self.app(scope, receive, send_with_headers)
