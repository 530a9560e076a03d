"""The composition root: `create_app(settings)` wires settings, Cassandra, the domain
and both interfaces into one Starlette app.

One Cluster/Session per process, created in the lifespan (after any fork by uvicorn
workers), with every statement prepared before the first request is served.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import logs, metrics, rest
from .dashboard import dashboard_routes
from .db import Database
from .domain import InvalidInput, PayloadTooLarge, StorageRejected, StorageUnavailable
from .graphql_app import GraphQLApp
from .schema import build_schema
from .service import SessionService
from .settings import Settings

log = logging.getLogger(__name__)


def error_json(status: int, message: str, details: list[dict[str, object]] | None = None) -> JSONResponse:
    body: dict[str, object] = {"error": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status)


async def _invalid_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidInput)
    status = 413 if isinstance(exc, PayloadTooLarge) else 400
    return error_json(status, exc.message, [p.as_dict() for p in exc.problems])


async def _storage_rejected(request: Request, exc: Exception) -> Response:
    # Logged in db.py with Cassandra's message; not the caller's fault and not retryable.
    return error_json(500, "Cassandra rejected a statement; see the server log")


async def _storage_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("storage unavailable on %s: %s", request.url.path, exc)
    return JSONResponse(
        {"error": "storage temporarily unavailable; the request is safe to retry"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


class BodyLimit:
    """Refuse any request body over the limit, for every route (GraphQL included): by its
    Content-Length before reading it, or, for a chunked body, by counting while buffering
    it (at most `limit` bytes are ever held)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = error_json(413, f"request body is larger than {self.limit} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.limit:
                await too_large(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
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


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    db: Database = request.app.state.db
    try:
        version = await asyncio.wait_for(db.ping(), timeout=5)
    except (StorageUnavailable, TimeoutError) as exc:
        # The Session's error rarely says why; a fresh connection says whether Cassandra is
        # unreachable or refuses our credentials (or TLS, protocol, datacenter...).
        reason = await db.diagnose() or str(exc) or "Cassandra did not answer within 5 seconds"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "cassandra": version, "keyspace": request.app.state.settings.keyspace})


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    """Build the app. Pass `database` to share one already-connected Database (tests,
    tools); otherwise the lifespan connects with `settings` and closes on shutdown."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = database if database is not None else await asyncio.to_thread(Database.connect, settings)
        try:
            app.state.db = db
            app.state.service = await SessionService.create(db, settings)
            metrics.observe(app.state.service, db)
            yield
        finally:
            if database is None:
                await asyncio.to_thread(db.close)

    graphql = GraphQLApp(
        build_schema(mask_errors=settings.mask_errors), graphql_ide="graphiql" if settings.graphiql else None
    )
    app = Starlette(
        routes=[
            Route("/events", rest.post_events, methods=["POST"]),
            Route("/sessions", rest.get_sessions, methods=["GET"]),
            Route("/session-starts", rest.get_session_starts, methods=["GET"]),
            Route("/players/{player_id:path}/stats", rest.get_player_stats, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics.endpoint(metrics.registry(settings.metrics_multiprocess_dir)), methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            *dashboard_routes(),
        ],
        exception_handlers={
            InvalidInput: _invalid_input,
            StorageUnavailable: _storage_unavailable,
            StorageRejected: _storage_rejected,
        },
        # Outermost first: the request id is set before anything logs, and the metrics
        # also count what the body limit refuses.
        middleware=[
            Middleware(logs.RequestId),
            Middleware(metrics.RequestMetrics),
            Middleware(BodyLimit, limit=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """uvicorn factory (`--factory graphql_service.app:app_from_env`): one app per worker.

    Workers are fresh processes, and uvicorn sets up its own log handlers before it calls
    this, so logging is configured here (again)."""
    settings = Settings.from_env()
    logs.configure_logging(settings)
    return create_app(settings)
