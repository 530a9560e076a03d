"""Who may do what, decided here for REST, GraphQL over HTTP and websockets alike.

Every route says what it needs (`Access`, on the route itself: app.py builds them with
`guarded`); every GraphQL operation needs what its type says (`OPERATION_ACCESS`, checked by
api/graphql/access.py after Strawberry's own parse, for HTTP and websockets). `Keys` holds the
server's keys: API keys for ingest (API_KEYS), for reads (READ_API_KEYS), a token for /metrics
(METRICS_TOKEN). Each unset setting leaves its door open. The Host header allow-list
(ALLOWED_HOSTS) is the last class here."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_json


class Access(Enum):
    OPEN = "open"  # anyone: the probes, the documents, the pages
    READ = "read"  # a read key (READ_API_KEYS) or an ingest key, when READ_API_KEYS is set
    WRITE = "write"  # an ingest key, when API_KEYS is set
    METRICS = "metrics"  # the METRICS_TOKEN, when set


# What each GraphQL operation type needs, whatever the transport.
OPERATION_ACCESS = {"query": Access.READ, "subscription": Access.READ, "mutation": Access.WRITE}
# How a caller presents a key, in the 401 (HTTP) and in the websocket's `error` message.
HOW_OVER_HTTP = "Authorization: Bearer <key> or X-API-Key: <key>"
HOW_OVER_WEBSOCKETS = "send it in connection_init or the upgrade's headers"


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key in `Authorization: Bearer <key>` or `X-API-Key: <key>`, if any (`headers`
    looked up by lower-case name)."""
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key") or None


def accepted(key: str | None, keys: Sequence[str]) -> bool:
    # Compared in constant time, against every key, so the answer's timing tells nothing.
    return key is not None and any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)


def refusal_message(what: str, how: str = HOW_OVER_HTTP) -> str:
    return f"{what} needs an API key: {how}"


def unauthorized(what: str) -> JSONResponse:
    return error_json(401, refusal_message(what), headers={"WWW-Authenticate": "Bearer"})


@dataclass(frozen=True)
class Keys:
    """The server's keys; `allows` is the one rule of who may do what."""

    write: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    metrics: str | None = None

    @classmethod
    def of(cls, write: Sequence[str] = (), read: Sequence[str] = (), metrics: str | None = None) -> Keys:
        # A key that may write may also read.
        return cls(tuple(write), (*read, *write) if read else (), metrics)

    def allows(self, access: Access, key: str | None) -> bool:
        needed = {
            Access.OPEN: (),
            Access.READ: self.read,
            Access.WRITE: self.write,
            Access.METRICS: (self.metrics,) if self.metrics else (),
        }[access]
        return not needed or accepted(key, needed)


def guarded(path: str, endpoint: Callable[..., Any], access: Access, methods: Sequence[str]) -> Route:
    """A route that carries what it needs; `ApiKeys` reads it from the route it matches."""
    route = Route(path, endpoint, methods=list(methods))
    route.access = access  # type: ignore[attr-defined]
    return route


def route_access(routes: Sequence[BaseRoute], scope: Scope) -> Access:
    """What the route a request matches needs. A path whose method is wrong (a 405) still
    needs its route's key: the answer tells a caller without one nothing."""
    for route in routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            access: Access = getattr(route, "access", Access.OPEN)
            return access
    return Access.OPEN


class ApiKeys:
    """401 for a request whose route needs a key it did not present; before the body is read."""

    def __init__(self, app: ASGIApp, keys: Keys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            access = route_access(getattr(scope.get("app"), "routes", []), scope)
            if not self.keys.allows(access, presented_key(Headers(scope=scope))):
                what = scope["path"] if access is Access.METRICS else f"{scope['method']} {scope['path']}"
                await unauthorized(what)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class AllowedHosts:
    """ALLOWED_HOSTS: requests whose Host header names another host get 400 (a defence
    against DNS rebinding and poisoned absolute URLs). `*.example.com` matches subdomains."""

    def __init__(self, app: ASGIApp, hosts: Sequence[str]) -> None:
        self.app = app
        self.hosts = tuple(h.lower() for h in hosts)

    def allows(self, host: str) -> bool:
        name = host.split(":")[0].lower() if not host.startswith("[") else host.split("]")[0] + "]"
        return any(
            pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:]))
            for pattern in self.hosts
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hosts and scope["type"] in ("http", "websocket"):
            if not self.allows(Headers(scope=scope).get("host", "")):
                await error_json(400, "this Host is not served here (ALLOWED_HOSTS)")(scope, receive, send)
                return
        await self.app(scope, receive, send)
