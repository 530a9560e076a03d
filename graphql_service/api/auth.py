"""Who may do what: API keys for ingest (API_KEYS) and for reads (READ_API_KEYS), a token
for /metrics (METRICS_TOKEN), and the Host header allow-list (ALLOWED_HOSTS). Each unset
setting leaves its door open, as before. GraphQL is checked in its own app (api/graphql/
context.py), which needs the operation to tell a mutation from a query."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_json

READ_PATHS = ("/sessions", "/session-starts", "/players/")


def presented_key(headers: Headers) -> str | None:
    """The key in `Authorization: Bearer <key>` or `X-API-Key: <key>`, if any."""
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key") or None


def accepted(key: str | None, keys: Sequence[str]) -> bool:
    # Compared in constant time, against every key, so the answer's timing tells nothing.
    return key is not None and any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)


def unauthorized(what: str) -> JSONResponse:
    return error_json(
        401,
        f"{what} needs an API key: Authorization: Bearer <key> or X-API-Key: <key>",
        headers={"WWW-Authenticate": "Bearer"},
    )


class ApiKeys:
    def __init__(
        self,
        app: ASGIApp,
        write_keys: Sequence[str] = (),
        read_keys: Sequence[str] = (),
        metrics_token: str | None = None,
    ) -> None:
        self.app = app
        self.write_keys = tuple(write_keys)
        # A key that may write may also read.
        self.read_keys = (*read_keys, *write_keys) if read_keys else ()
        self.metrics_token = metrics_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope["method"], scope["path"], Headers(scope=scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, method: str, path: str, headers: Headers) -> JSONResponse | None:
        key = presented_key(headers)
        if path == "/metrics" and self.metrics_token and not accepted(key, (self.metrics_token,)):
            return unauthorized("/metrics")
        if path == "/events" and method == "POST" and self.write_keys and not accepted(key, self.write_keys):
            return unauthorized("POST /events")
        if self.read_keys and path.startswith(READ_PATHS) and not accepted(key, self.read_keys):
            return unauthorized(f"{method} {path.split('?')[0]}")
        return None


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
