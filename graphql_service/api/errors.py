"""Service errors → HTTP answers, in one place: every error body is `{"error", "details"?}`."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..domain.errors import InvalidInput, PayloadTooLarge, StorageRejected, StorageUnavailable

log = logging.getLogger(__name__)


def error_json(status: int, message: str, details: list[dict[str, object]] | None = None) -> JSONResponse:
    body: dict[str, object] = {"error": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status)


async def invalid_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidInput)
    status = 413 if isinstance(exc, PayloadTooLarge) else 400
    return error_json(status, exc.message, [p.as_dict() for p in exc.problems])


async def storage_rejected(request: Request, exc: Exception) -> Response:
    # Logged by the backend with Cassandra's message; not the caller's fault, not retryable.
    return error_json(500, StorageRejected.public_message)


async def storage_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("storage unavailable on %s: %s", request.url.path, exc)
    return JSONResponse({"error": StorageUnavailable.public_message}, status_code=503, headers={"Retry-After": "1"})


HANDLERS = {
    InvalidInput: invalid_input,
    StorageUnavailable: storage_unavailable,
    StorageRejected: storage_rejected,
}
