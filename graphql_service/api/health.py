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

# The whole probe answers within 2 s, well inside an orchestrator's usual timeout, even
# while Cassandra stalls: the ping gets 1.5 s, explaining why it failed at most 0.4 s.
PING_TIMEOUT_SECONDS = 1.5
DIAGNOSE_TIMEOUT_SECONDS = 0.4
# Diagnoses still running after their probe answered (kept referenced until they finish).
_running: set[asyncio.Future[str | None]] = set()


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    db: Backend = request.app.state.db
    try:
        version = await asyncio.wait_for(db.ping(), timeout=PING_TIMEOUT_SECONDS)
    except (StorageUnavailable, TimeoutError) as exc:
        # The session's error rarely says why; a fresh connection says whether Cassandra is
        # unreachable or refuses our credentials (or TLS, protocol, datacenter...).
        # Shielded: a diagnosis that takes longer finishes (and closes its connection) in the
        # background instead of being cut off half-way.
        diagnosis = asyncio.ensure_future(db.diagnose())
        _running.add(diagnosis)
        diagnosis.add_done_callback(_running.discard)
        try:
            reason = await asyncio.wait_for(asyncio.shield(diagnosis), timeout=DIAGNOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            reason = None
        reason = reason or str(exc) or f"Cassandra did not answer within {PING_TIMEOUT_SECONDS} seconds"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "cassandra": version, "keyspace": request.app.state.settings.keyspace})


def metrics_endpoint(source: CollectorRegistry) -> Callable[[Request], Awaitable[Response]]:
    """`/metrics`: a scrape in the format the scraper asks for (Prometheus text by default)."""

    async def metrics(request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(source), headers={"Content-Type": content_type})

    return metrics
