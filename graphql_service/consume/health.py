"""The consumer process's own HTTP endpoints, on HOST:KAFKA_HEALTH_PORT: `/healthz` (the
process runs), `/readyz` (it is in the group and Cassandra answers: else 503 with why) and
`/metrics` (Prometheus). A few lines of asyncio instead of a web framework: it answers
three fixed GET requests and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger(__name__)
REQUEST_TIMEOUT_SECONDS = 5


def _response(status: int, content_type: str, body: bytes) -> bytes:
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


def _json(status: int, body: dict[str, object]) -> bytes:
    return _response(status, "application/json", json.dumps(body).encode())


async def serve(host: str, port: int, readiness: Callable[[], tuple[bool, dict[str, object]]]) -> asyncio.Server:
    """Start listening; `readiness()` says whether the consumer is ready, and the details."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_SECONDS)
            method, path, *_ = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            path = path.split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                reply = _json(405, {"error": "only GET"})
            elif path == "/healthz":
                reply = _json(200, {"status": "ok"})
            elif path == "/readyz":
                ready, details = readiness()
                reply = _json(200 if ready else 503, {"status": "ready" if ready else "unavailable", **details})
            elif path == "/metrics":
                reply = _response(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
            else:
                reply = _json(404, {"error": f"no such path {path}; try /healthz, /readyz or /metrics"})
            writer.write(reply)
            await writer.drain()
        except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    log.info("consumer health on http://%s:%d (/healthz, /readyz, /metrics)", host, port)
    return server
