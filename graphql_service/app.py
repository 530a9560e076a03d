"""The composition root: `create_app(settings)` wires settings, the storage backend, the
service and both interfaces into one Starlette app.

One storage session per process, created in the lifespan (after any fork by uvicorn
workers), with every statement prepared before the first request is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import WebSocketRoute

from .api import openapi, rest
from .api.auth import Access, AllowedHosts, ApiKeys, Keys, guarded
from .api.compression import InflateBodies
from .api.cors import Cors
from .api.dashboard import dashboard_routes
from .api.deadline import Deadline
from .api.errors import HANDLERS
from .api.graphiql import graphiql_routes
from .api.graphql.schema import build_schema
from .api.graphql.view import GraphQLApp
from .api.headers import StandardHeaders
from .api.health import healthz, metrics_endpoint, readyz
from .api.middleware import BodyLimit, RequestId, RequestMetrics, Utf8Urls
from .core.service import SessionService
from .core.settling import Settler
from .ops import logs, metrics
from .settings import Settings
from .store import backends
from .store.backends import Backend

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, database: Backend | None = None) -> Starlette:
    """Build the app. Pass `database` to share one already-connected backend (tests,
    tools); otherwise the lifespan connects with `settings` and closes on shutdown."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = database if database is not None else await backends.connect(settings)
        try:
            app.state.db = db
            app.state.service = await SessionService.create(db, settings)
            app.state.service.observers.append(metrics.observe_ingest)
            # One backend may serve several apps in turn (the tests share one): observe
            # each of its statements once, for as long as it lives.
            if metrics.observe_statement not in db.observers:
                db.observers.append(metrics.observe_statement)
            settling: asyncio.Task[None] | None = None
            if settings.settle_interval_seconds > 0:
                settler = Settler(app.state.service.starts, settings.settle_interval_seconds)
                settling = asyncio.create_task(settler.run_forever(), name="settle-start-buckets")
            try:
                yield
            finally:
                if settling is not None:
                    # Stopped before the backend closes: a pass in flight ends with it.
                    settling.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await settling
        finally:
            if database is None:
                await db.close()

    keys = Keys.of(write=settings.api_keys, read=settings.read_api_keys, metrics=settings.metrics_token)
    graphql = GraphQLApp(
        build_schema(mask_errors=settings.mask_errors, introspection=settings.graphql_introspection),
        graphql_ide="graphiql" if settings.graphiql else None,
        keys=keys,
        max_connections=settings.ws_max_connections,
        max_subscriptions_per_connection=settings.ws_max_subscriptions,
        idle_seconds=settings.ws_idle_seconds,
    )
    registry = metrics.registry(settings.metrics_multiprocess_dir)
    app = Starlette(
        # Each route says who may call it (api/auth.py; ApiKeys reads it off the route).
        routes=[
            guarded("/events", rest.post_events, Access.WRITE, ["POST"]),
            guarded("/sessions", rest.get_sessions, Access.READ, ["GET"]),
            guarded("/session-starts", rest.get_session_starts, Access.READ, ["GET"]),
            guarded("/session-starts/series", rest.get_session_starts_series, Access.READ, ["GET"]),
            guarded("/players/{player_id:player_id}/stats", rest.get_player_stats, Access.READ, ["GET"]),
            guarded("/healthz", healthz, Access.OPEN, ["GET"]),
            guarded("/readyz", readyz, Access.OPEN, ["GET"]),
            guarded("/metrics", metrics_endpoint(registry), Access.METRICS, ["GET"]),
            guarded("/openapi.json", openapi.openapi_json, Access.OPEN, ["GET"]),
            # GraphiQL's page is open; each operation needs what its type needs (auth.OPERATION_ACCESS).
            guarded("/graphql", graphql, Access.OPEN, ["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),  # subscriptions (graphql-transport-ws), checked the same way
            *dashboard_routes(),
            *(graphiql_routes() if settings.graphiql else []),
        ],
        exception_handlers=dict(HANDLERS),
        # Outermost first: the request id is set before anything logs, and the metrics
        # also count what the body limit refuses; every answer gets the standard headers
        # (nosniff, Cache-Control). Every answer may be compressed; CORS sits outside the
        # API keys (a preflight has none, and a page must be able to read a 401) and the
        # body checks; the body limit bounds the compressed body, InflateBodies the
        # inflated one; the deadline counts neither the body's arrival nor its inflating.
        middleware=[
            Middleware(RequestId),
            Middleware(RequestMetrics),
            Middleware(StandardHeaders),
            *compressed_responses(settings),
            Middleware(AllowedHosts, hosts=settings.allowed_hosts),
            *cors(settings),
            Middleware(ApiKeys, keys=keys),
            Middleware(Utf8Urls),
            Middleware(BodyLimit, limit=settings.max_body_bytes),
            Middleware(InflateBodies, limit=settings.max_body_bytes),
            Middleware(Deadline, seconds=settings.request_timeout_seconds),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def compressed_responses(settings: Settings) -> list[Middleware]:
    if not settings.gzip_min_bytes:
        return []
    # Level 6, zlib's default: nearly the ratio of 9 at a fraction of the CPU per response.
    return [Middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes, compresslevel=6)]


def cors(settings: Settings) -> list[Middleware]:
    # Unset: no CORS headers at all, and a preflight gets 405 like any other OPTIONS.
    return [Middleware(Cors, origins=settings.cors_allow_origins)] if settings.cors_allow_origins else []


def app_from_env() -> Starlette:
    """uvicorn factory (`--factory graphql_service.app:app_from_env`): one app per worker.

    Workers are fresh processes, and uvicorn sets up its own log handlers before it calls
    this, so logging is configured here (again)."""
    settings = Settings.from_env()
    logs.configure_logging(settings)
    return create_app(settings)
