"""The HTTP/1.1 connection, before any ASGI app sees a request: uvicorn's httptools protocol
plus what uvicorn does not have.

- A header-read timeout (HTTP_HEADER_TIMEOUT_SECONDS). uvicorn's `timeout_keep_alive` only
  runs between requests and is cancelled by the first byte of the next one; a connection that
  sends nothing, or its headers a byte at a time (slowloris), was held for ever.
- A cap on the connections one client address holds (HTTP_MAX_CONNECTIONS_PER_CLIENT),
  websockets included: one more is answered 503 and closed before it costs anything else.
- A bound on the connections still waiting for their headers, from all addresses together:
  half the process's open-file limit. A new connection beyond it closes the one that has
  waited longest, so idle connections from many addresses cannot use up the file
  descriptors (asyncio then stops accepting for a second at a time) and a real client,
  whose headers follow at once, still gets in. (`serve` raises its soft open-file limit to
  the hard one first, as servers do.)
- Strict Host handling (RFC 9112 3.2): an HTTP/1.1 request without Host, with two of them, or
  with an invalid one, and an absolute-form target (`GET http://evil.com/healthz`) naming
  another host than Host, get 400. uvicorn passes all of these on; httptools even drops the
  absolute target's host, so the app could not tell.

`serve` runs uvicorn with `http="graphql_service.api.connections:GuardedHttp"` (an import
string: worker processes import it themselves). Counts are per process.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import weakref
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..settings import Settings

_HOST = re.compile(rb"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(:[0-9]{0,5})?")
_DEFAULT_PORTS = {b"http": 80, b"https": 443, b"ws": 80, b"wss": 443}


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_seconds: float
    max_per_client: int  # 0: no cap
    max_waiting_for_headers: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        open_files, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        waiting = max(64, open_files // 2) if open_files != resource.RLIM_INFINITY else 1 << 20
        return cls(settings.header_timeout_seconds, settings.max_connections_per_client, waiting)


def _response(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


_TOO_MANY = _response(503, "Service Unavailable", "too many connections from this address; retry later")
_TOO_SLOW = _response(408, "Request Timeout", "the request headers did not arrive in time")


def _authority(value: bytes, scheme: bytes) -> tuple[bytes, int | None] | None:
    """(host, port) of a Host value or an absolute target's authority; None if invalid."""
    match = _HOST.fullmatch(value)
    if match is None:
        return None
    host, port = match.group(1).lower(), match.group(2)
    number = int(port[1:]) if port and len(port) > 1 else _DEFAULT_PORTS.get(scheme)
    return host, number


def host_problem(http_version: str, target: bytes, headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why this request's Host is not acceptable (RFC 9112 3.2), or None."""
    hosts = [value for name, value in headers if name == b"host"]
    if len(hosts) > 1:
        return "a request must have one Host header, not several"
    if not hosts:
        return "an HTTP/1.1 request needs a Host header" if http_version == "1.1" else None
    given = _authority(hosts[0], b"http")
    if given is None:
        return "the Host header is not a valid host"
    if b"://" in target[:16]:  # absolute-form: `GET http://host/path HTTP/1.1`
        try:
            url = httptools.parse_url(target)
        except httptools.HttpParserInvalidURLError:
            return "the request target is not a valid URL"
        scheme = (url.schema or b"").lower()
        named = (
            (b"[" + url.host.lower() + b"]" if b":" in url.host else url.host.lower()),
            url.port or _DEFAULT_PORTS.get(scheme),
        )
        if named != _authority(hosts[0], scheme):
            return "the request target names another host than the Host header"
    return None


def _refusal(message: str) -> Any:
    """A tiny ASGI app answering 400 with the service's JSON error body; it closes the connection."""
    body = json.dumps({"error": message}).encode()

    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 400, "headers": [*headers, (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    return refuse


class GuardedHttp(HttpToolsProtocol):
    # Read from the environment once per process (the worker's settings); tests may set it.
    limits: ClassVar[ConnectionLimits | None] = None
    # Open transports per client address. Weak: a websocket's transport belongs to another
    # protocol once upgraded, and drops out of here when it is closed and gone.
    _open: ClassVar[dict[str, weakref.WeakSet[asyncio.Transport]]] = {}
    # Connections waiting for their headers, longest-waiting first (dicts keep their order).
    _waiting: ClassVar[dict[GuardedHttp, None]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if GuardedHttp.limits is None:
            GuardedHttp.limits = ConnectionLimits.from_settings(Settings.from_env())
        self._limits = GuardedHttp.limits
        self._header_timer: asyncio.TimerHandle | None = None
        self._request_begun = False
        self._refused_host: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else None
        if self._limits.max_per_client and address is not None:
            held = self._open.setdefault(address, weakref.WeakSet())
            if sum(1 for t in held if not t.is_closing()) >= self._limits.max_per_client:
                transport.write(_TOO_MANY)
                transport.close()
                return
            held.add(transport)
        if len(self._waiting) >= self._limits.max_waiting_for_headers:
            longest = next(iter(self._waiting))
            longest._cancel_header_timer()
            longest.transport.close()
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        address = self.client[0] if self.client else None
        held = self._open.get(address) if address is not None else None
        if held is not None:
            held.discard(self.transport)
            if not held:
                del self._open[address]  # type: ignore[arg-type]
        super().connection_lost(exc)

    # -- the header timeout: from the connection's start or the next request's first byte
    # to the end of its headers.

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._limits.header_timeout_seconds, self._headers_too_slow)
            self._waiting[self] = None

    def _cancel_header_timer(self) -> None:
        self._waiting.pop(self, None)
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        self._waiting.pop(self, None)
        if not self.transport.is_closing():
            if self._request_begun:
                self.transport.write(_TOO_SLOW)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        self._refused_host = None
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        self._request_begun = False
        self._refused_host = host_problem(self.parser.get_http_version(), self.url, self.headers)
        if self._refused_host is None:
            super().on_headers_complete()
            return
        # Answered like any request (so pipelining and the access log stay uvicorn's), by an
        # app that refuses it; `_should_upgrade` keeps a websocket handshake from bypassing it.
        app, self.app = self.app, _refusal(self._refused_host)
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def _should_upgrade(self) -> bool:
        return self._refused_host is None and super()._should_upgrade()
