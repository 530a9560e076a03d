"""The composition root: `create_app(settings)` wires settings, the storage backend, the
service and both interfaces into one Starlette app.

One storage session per process, created in the lifespan (after any fork by uvicorn
workers), with every statement prepared before the first request is served.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from .api import openapi, rest
from .api.auth import AllowedHosts, ApiKeys
from .api.dashboard import dashboard_routes
from .api.deadline import Deadline
from .api.errors import HANDLERS
from .api.graphql.context import GraphQLApp
from .api.graphql.schema import build_schema
from .api.health import healthz, metrics_endpoint, readyz
from .api.middleware import BodyLimit, RequestId, RequestMetrics, Utf8Urls
from .core.service import SessionService
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
            yield
        finally:
            if database is None:
                await db.close()

    graphql = GraphQLApp(
        build_schema(mask_errors=settings.mask_errors, introspection=settings.graphql_introspection),
        graphql_ide="graphiql" if settings.graphiql else None,
        write_keys=settings.api_keys,
        read_keys=settings.read_api_keys,
    )
    app = Starlette(
        routes=[
            Route("/events", rest.post_events, methods=["POST"]),
            Route("/sessions", rest.get_sessions, methods=["GET"]),
            Route("/session-starts", rest.get_session_starts, methods=["GET"]),
            Route("/players/{player_id:player_id}/stats", rest.get_player_stats, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint(metrics.registry(settings.metrics_multiprocess_dir)), methods=["GET"]),
            Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            *dashboard_routes(),
        ],
        exception_handlers=dict(HANDLERS),
        # Outermost first: the request id is set before anything logs, and the metrics
        # also count what the body limit refuses.
        middleware=[
            Middleware(RequestId),
            Middleware(RequestMetrics),
            Middleware(AllowedHosts, hosts=settings.allowed_hosts),
            Middleware(
                ApiKeys,
                write_keys=settings.api_keys,
                read_keys=settings.read_api_keys,
                metrics_token=settings.metrics_token,
            ),
            Middleware(Utf8Urls),
            Middleware(BodyLimit, limit=settings.max_body_bytes),
            Middleware(Deadline, seconds=settings.request_timeout_seconds),
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
