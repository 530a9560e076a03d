"""The REST shims: parse HTTP, call the service, shape the answer. Nothing else."""

from __future__ import annotations

import re
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from ..core.service import SessionService
from ..domain.errors import InvalidInput, Problem
from ..domain.events import format_timestamp
from ..domain.sessions import Session
from . import json_input
from .errors import unless_json


class PlayerIdConvertor(Convertor[str]):
    """Like Starlette's `path` (a player id may hold `/`), but a line feed matches too, so the
    service names it as a bad player id (400) instead of no route matching (404)."""

    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("player_id", PlayerIdConvertor())

# `q=0` in an Accept media range means "not this one" (RFC 9110, 12.4.2).
_REFUSED = re.compile(r"(^|;)\s*q\s*=\s*0(\.0{0,3})?\s*(;|$)", re.IGNORECASE)
BODY_SHAPES = 'a JSON array of events, {"rows": [...]} or {"events": [...]}'


def _service(request: Request) -> SessionService:
    return request.app.state.service  # type: ignore[no-any-return]


async def read_json_body(request: Request) -> Any:
    """The parsed JSON body, or None when there is no body (its size was checked by BodyLimit)."""
    body = await request.body()
    if not body.strip():
        return None
    try:
        return json_input.loads(body)
    except ValueError as exc:
        # ValueError covers JSONDecodeError (nesting too deep included) and bodies that are not UTF-8.
        raise InvalidInput(f"request body is not valid JSON: {exc}") from None


def events_from_body(body: Any) -> tuple[list[object], object]:
    """The batch's events and its `sent_at` (None when absent; a bare array has none)."""
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict):
        for key in ("rows", "events"):
            if isinstance(body.get(key), list):
                return list(body[key]), body.get("sent_at")
    raise InvalidInput(
        f"request body must be {BODY_SHAPES}", [Problem(field="body", message=f"expected {BODY_SHAPES}")]
    )


def _wants_json(accept: str | None) -> bool:
    """Only a client that names `application/json` in Accept (not with q=0) gets the counts:
    the original clients (and `*/*`) keep the exact `POST success` text they test for."""
    for media_range in (accept or "").split(","):
        media_type, _, params = media_range.partition(";")
        if media_type.strip().lower() == "application/json":
            return not _REFUSED.search(params)
    return False


def session_json(session: Session) -> dict[str, object]:
    return {
        "session_id": str(session.session_id),
        "player_id": session.player_id,
        "country": session.country,
        "start_ts": format_timestamp(session.start_ts),
        "end_ts": format_timestamp(session.end_ts),
        "duration_seconds": session.duration_seconds,
    }


async def post_events(request: Request) -> Response:
    service = _service(request)
    if (refused := unless_json(request.headers.get("content-type"), "POST /events")) is not None:
        return refused
    body = await read_json_body(request)
    if body is None:
        raise InvalidInput(f"request body is empty; send {BODY_SHAPES}")
    events, sent_at = events_from_body(body)
    result = await service.submit_events(events, sent_at=sent_at)
    if _wants_json(request.headers.get("accept")):
        return JSONResponse({"accepted": result.accepted, "expired": result.expired})
    # The original contract: exactly this text, also when some events were past retention.
    return PlainTextResponse("POST success")


async def get_sessions(request: Request) -> Response:
    service = _service(request)
    # Postman users of the original send the player id as a JSON body on GET; browsers
    # and curl prefer the query string. Both work; the query string wins if both are given.
    body = await read_json_body(request)
    params: dict[str, Any] = body if isinstance(body, dict) else {}
    if body is not None and not isinstance(body, dict):
        raise InvalidInput('request body must be a JSON object such as {"player_id": "..."}')
    player_id = request.query_params.get("player_id", params.get("player_id"))
    limit = request.query_params.get("limit", params.get("limit"))
    before = request.query_params.get("before", params.get("before"))
    if player_id is None:
        raise InvalidInput(
            "player_id is required (query string ?player_id=... or JSON body)",
            [Problem(field="player_id", message="is required")],
        )
    page = await service.sessions_page(player_id, limit, before)
    return JSONResponse(
        {
            "player_id": player_id,
            "sessions": [session_json(s) for s in page.sessions],
            "next_cursor": page.next_cursor,
        }
    )


async def get_session_starts(request: Request) -> Response:
    service = _service(request)
    report = await service.session_starts(request.query_params.get("hours"))
    return JSONResponse(
        {
            "hours": report.hours,
            "from": format_timestamp(report.start),
            "to": format_timestamp(report.end),
            "countries": [{"country": c.country, "session_starts": c.session_starts} for c in report.countries],
        }
    )


async def get_session_starts_series(request: Request) -> Response:
    service = _service(request)
    params = request.query_params
    series = await service.session_starts_series(params.get("hours"), params.get("step"), params.get("country"))
    return JSONResponse(
        {
            "hours": series.hours,
            "step": series.step,
            "from": format_timestamp(series.start),
            "to": format_timestamp(series.end),
            "series": [
                {
                    "bucket_start": format_timestamp(p.bucket_start),
                    "country": p.country,
                    "session_starts": p.session_starts,
                }
                for p in series.points
            ],
        }
    )


async def get_player_stats(request: Request) -> Response:
    service = _service(request)
    player_id = request.path_params["player_id"]
    stats = await service.player_stats(player_id)
    return JSONResponse(
        {
            "player_id": player_id,
            "completed_sessions": stats.completed_sessions,
            "total_seconds": stats.total_seconds,
            "average_seconds": stats.average_seconds,
            "last_session_end": format_timestamp(stats.last_session_end) if stats.last_session_end else None,
            "truncated": stats.truncated,
        }
    )
