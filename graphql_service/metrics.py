"""Prometheus metrics: what they are, how requests are measured, and how `/metrics` is served.

Every metric is defined once, here, at import time, in prometheus-client's default registry:
a process has one set of counters however many apps it builds (the tests build many).
The domain does not import this module; the composition root (app.py) subscribes
`observe_ingest` and `observe_statement` to the domain's hooks.

With several uvicorn workers each process counts on its own. When `PROMETHEUS_MULTIPROC_DIR`
is set before the process starts, prometheus-client keeps every value in a file in that
directory instead, and `/metrics`, answered by whichever worker, adds up all of them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .db import Database
from .ingest import IngestOutcome
from .service import SessionService

# One name prefix for everything this service exports.
PREFIX = "player_sessions"
# The route label of any request that matches no route, so scanners probing random paths
# cannot create a time series per path.
UNMATCHED = "unmatched"
# Likewise any method outside this set is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# `_created` series double the number of series and nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time from receiving an HTTP request to sending the last byte of its answer.",
    ["route", "method", "status"],
)
EVENTS = Counter(
    f"{PREFIX}_events_total",
    "Events by what happened to them: accepted (stored or re-delivered), rejected (in an "
    "invalid batch), expired (past retention, not stored), duplicate (already stored, subset of accepted).",
    ["outcome"],
)
SESSIONS = Counter(
    f"{PREFIX}_sessions_total",
    "Sessions that became complete (completed), or whose end precedes their start (invalid).",
    ["outcome"],
)
STATEMENT_DURATION = Histogram(
    f"{PREFIX}_cassandra_statement_duration_seconds",
    "Time to run one prepared Cassandra statement, failures included, by statement name.",
    ["statement"],
    # A local quorum read or write takes about a millisecond: start finer than the default.
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
STATEMENT_ERRORS = Counter(
    f"{PREFIX}_cassandra_statement_errors_total",
    "Prepared Cassandra statements that failed, by statement name and driver exception class.",
    ["statement", "error"],
)

_EVENT_OUTCOMES: frozenset[IngestOutcome] = frozenset({"accepted", "rejected", "expired", "duplicate"})
_SESSION_OUTCOMES: dict[IngestOutcome, str] = {"completed": "completed", "invalid_session": "invalid"}

# Every outcome is exported from the start (at 0), so rate() and alerts work before the first event.
for _outcome in _EVENT_OUTCOMES:
    EVENTS.labels(_outcome)
for _label in _SESSION_OUTCOMES.values():
    SESSIONS.labels(_label)


def observe_ingest(outcome: IngestOutcome, count: int) -> None:
    """`SessionService.observers` hook."""
    if outcome in _EVENT_OUTCOMES:
        EVENTS.labels(outcome).inc(count)
    elif outcome in _SESSION_OUTCOMES:
        SESSIONS.labels(_SESSION_OUTCOMES[outcome]).inc(count)


def observe_statement(statement: str, seconds: float, error: BaseException | None) -> None:
    """`Database.observers` hook."""
    STATEMENT_DURATION.labels(statement).observe(seconds)
    if error is not None:
        STATEMENT_ERRORS.labels(statement, type(error).__name__).inc()


def observe(service: SessionService, db: Database) -> None:
    """Subscribe the counters to a new service and its Database (called at app start-up)."""
    service.observers.append(observe_ingest)
    # One Database may serve several apps in turn (the tests share one): observe each of its
    # statements once, for as long as it lives.
    if observe_statement not in db.observers:
        db.observers.append(observe_statement)


def registry(multiprocess_dir: Path | None) -> CollectorRegistry:
    """The registry `/metrics` reads: this process's, or every worker's files."""
    if multiprocess_dir is None:
        return REGISTRY
    combined = CollectorRegistry()
    MultiProcessCollector(combined, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
    return combined


def endpoint(source: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    """The `/metrics` endpoint: a scrape in the format the scraper asks for (Prometheus text by default)."""

    async def metrics(request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(source), headers={"Content-Type": content_type})

    return metrics


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
    """ASGI middleware counting and timing every HTTP request by route template, method and status."""

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
