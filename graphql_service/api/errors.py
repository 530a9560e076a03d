"""Service errors → HTTP answers, in one place: every error body is `{"error", "details"?}`."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from ..domain.arguments import Argument, InvalidArgument
from ..domain.errors import CapacityReached, InvalidInput, PayloadTooLarge, StorageRejected, StorageUnavailable
from .headers import STANDARD_HEADERS

log = logging.getLogger(__name__)


def error_json(
    status: int,
    message: str,
    details: list[dict[str, object]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Every error the service answers, from any layer of api/: `{"error", "details"?}`."""
    body: dict[str, object] = {"error": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def unless_json(content_type: str | None, what: str) -> JSONResponse | None:
    """415 for a body that does not say it is JSON (`POST /events`, `POST /graphql`): a web page
    can POST text/plain to any origin without a CORS preflight, JSON only closes that door."""
    if (content_type or "").split(";")[0].strip().lower() == "application/json":
        return None
    return error_json(415, f"{what} takes Content-Type: application/json")


# nginx's "client closed request": nobody reads it, and it is not counted as a server error.
CLIENT_CLOSED_REQUEST = 499


def client_gone(method: str, path: str) -> JSONResponse:
    log.info("client disconnected before sending the whole body of %s %s", method, path)
    return error_json(CLIENT_CLOSED_REQUEST, "client disconnected")


# What REST calls each argument the service checks (GraphQL has its own names).
REST_ARGUMENT_NAMES = {
    Argument.PLAYER_ID: "player_id",
    Argument.LIMIT: "limit",
    Argument.HOURS: "hours",
    Argument.SENT_AT: "sent_at",
}


async def invalid_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidInput)
    status = 413 if isinstance(exc, PayloadTooLarge) else 400
    message, problems = exc.message, exc.problems
    if isinstance(exc, InvalidArgument):
        message, problems = exc.named(REST_ARGUMENT_NAMES)
    return error_json(status, message, [p.as_dict() for p in problems])


async def storage_rejected(request: Request, exc: Exception) -> Response:
    # Logged by the backend with Cassandra's message; not the caller's fault, not retryable.
    return error_json(500, StorageRejected.public_message)


def unavailable() -> JSONResponse:
    """503 + Retry-After: Cassandra failed or took too long; every write is idempotent."""
    return error_json(503, StorageUnavailable.public_message, headers={"Retry-After": "1"})


async def storage_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("storage unavailable on %s: %s", request.url.path, exc)
    return unavailable()


async def capacity_reached(request: Request, exc: Exception) -> Response:
    return error_json(503, str(exc), headers={"Retry-After": "5"})


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 / 405 / … as JSON like every other error (its Allow header kept)."""
    assert isinstance(exc, HTTPException)
    return error_json(exc.status_code, exc.detail, headers=exc.headers)


async def client_disconnected(request: Request, exc: Exception) -> Response:
    return client_gone(request.method, request.url.path)


async def unexpected(request: Request, exc: Exception) -> Response:
    # Starlette logs the traceback; the caller gets JSON like every other error, no internals.
    # Answered outside every middleware (Starlette's ServerErrorMiddleware): the standard
    # headers are added here.
    return error_json(500, "internal error; it has been logged", headers=STANDARD_HEADERS)


HANDLERS = {
    Exception: unexpected,
    InvalidInput: invalid_input,
    StorageUnavailable: storage_unavailable,
    StorageRejected: storage_rejected,
    CapacityReached: capacity_reached,
    HTTPException: http_error,
    ClientDisconnect: client_disconnected,
}
