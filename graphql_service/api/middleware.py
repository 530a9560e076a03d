"""The ASGI middleware of the app, outermost first: request id, request metrics, UTF-8 URLs,
body limit (size and read timeout)."""

from __future__ import annotations

import asyncio
import time
import uuid
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..ops.logs import REQUEST_ID_HEADER, accepted_request_id, bind_request_id, unbind_request_id
from ..ops.metrics import HTTP_DURATION, HTTP_REQUESTS, METHODS, UNMATCHED
from .errors import client_gone, error_json


class RequestId:
    """Adopt or create the request id, expose it to logging, echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accepted_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        token = bind_request_id(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
        # Reset only on success: after an unhandled error the server logs the traceback in
        # this same task, and that line should carry the id too. Each request runs in a
        # task of its own, so the id cannot leak into the next one.
        unbind_request_id(token)


def route_template(scope: Scope) -> str:
    """The path template of the route a request matches (`/events`), never the raw path.

    Matched here, before the app runs, so requests answered before routing (a 413 from
    the body limit) are labelled with their route too."""
    routes: list[BaseRoute] = getattr(scope.get("app"), "routes", [])
    for route in routes:
        match, _ = route.matches(scope)
        # PARTIAL: the path matches but not the method (a 405); still that route.
        if match is not Match.NONE:
            return str(getattr(route, "path", UNMATCHED))
    return UNMATCHED


class RequestMetrics:
    """Count and time every HTTP request by route template, method and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_template(scope)
        started = time.perf_counter()
        # An exception that escapes before an answer started becomes a 500 further out.
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            labels = (route, method, str(status))
            HTTP_DURATION.labels(*labels).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(*labels).inc()


class Utf8Urls:
    """A path or query string whose percent-escapes are not UTF-8 is refused with 400: decoded
    leniently, `/players/%FF/stats` and `/players/%FE/stats` would be the same player."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            for part, raw in (("path", raw_path), ("query string", scope.get("query_string", b""))):
                try:
                    unquote_to_bytes(raw).decode("utf-8")
                except UnicodeDecodeError:
                    await error_json(400, f"the URL's {part} is not valid UTF-8")(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class BodyLimit:
    """The one body-size check, for every route (GraphQL included): by Content-Length before
    reading, or, for a chunked body, by counting while buffering it (at most `limit` bytes
    are ever held). A body that stops arriving for `read_timeout` seconds gets 408, so a slow
    client cannot hold a connection and its buffer open."""

    def __init__(self, app: ASGIApp, limit: int, read_timeout: float = 30.0) -> None:
        self.app = app
        self.limit = limit
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = error_json(413, f"request body is larger than {self.limit} bytes")
        body_done = False
        # One deadline for the whole body, not per chunk: a byte every few seconds would
        # otherwise hold the connection open for ever.
        deadline = asyncio.get_running_loop().time() + self.read_timeout

        async def timed_receive() -> Message:
            # Only the body is timed: later receives wait for a disconnect, as long as it takes.
            nonlocal body_done
            if body_done:
                return await receive()
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0.001))
            except TimeoutError:
                raise _BodyTimeout from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.limit:
                await too_large(scope, receive, send)
                return
            try:
                await self.app(scope, timed_receive, send)
            except _BodyTimeout:
                await _too_slow(scope, receive, send)
            return
        body = bytearray()
        while True:
            try:
                message = await timed_receive()
            except _BodyTimeout:
                await _too_slow(scope, receive, send)
                return
            if message["type"] != "http.request":  # the client went away: not a server error
                await client_gone(scope["method"], scope["path"])(scope, receive, send)
                return
            body.extend(message.get("body", b""))
            if len(body) > self.limit:
                await too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class _BodyTimeout(Exception):
    pass


async def _too_slow(scope: Scope, receive: Receive, send: Send) -> None:
    await error_json(408, "the request body did not arrive in time")(scope, receive, send)
