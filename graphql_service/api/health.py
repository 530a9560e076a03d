"""Operational endpoints: /healthz (the process), /readyz (the process and Cassandra), /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..domain.errors import StorageUnavailable
from ..store.backends import Backend

# A probe must answer before the orchestrator's own timeout.
PING_TIMEOUT_SECONDS = 5


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    db: Backend = request.app.state.db
    try:
        version = await asyncio.wait_for(db.ping(), timeout=PING_TIMEOUT_SECONDS)
    except (StorageUnavailable, TimeoutError) as exc:
        # The session's error rarely says why; a fresh connection says whether Cassandra is
        # unreachable or refuses our credentials (or TLS, protocol, datacenter...).
        reason = await db.diagnose() or str(exc) or f"Cassandra did not answer within {PING_TIMEOUT_SECONDS} seconds"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "cassandra": version, "keyspace": request.app.state.settings.keyspace})


def metrics_endpoint(source: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    """`/metrics`: a scrape in the format the scraper asks for (Prometheus text by default)."""

    async def metrics(request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(source), headers={"Content-Type": content_type})

    return metrics
