"""The OpenAPI 3.1 document of the REST API, served at `GET /openapi.json`.

One place: the document is this dict. Its limits come from the same constants the
validation uses (domain/events.py), so the two cannot drift apart; tests/api/test_openapi.py
checks that every REST route is documented and that real answers match their schemas, and
tests/api/test_schemathesis.py sends what it describes to a served process.

GraphQL (`/graphql`) is not described here: its schema is `schema.graphql`. Neither is the
dashboard (`/dashboard`), a page for people.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..domain.arguments import MAX_SERIES_BUCKETS
from ..domain.events import (
    DEFAULT_SESSIONS_LIMIT,
    MAX_BATCH_EVENTS,
    MAX_PLAYER_ID_LENGTH,
    MAX_SESSIONS_LIMIT,
    MAX_WINDOW_HOURS,
    MIN_BATCH_EVENTS,
)
from ..domain.sessions import STATS_MAX_SESSIONS

try:
    _VERSION = version("player-session-service")
except PackageNotFoundError:  # run from a checkout that was never installed
    _VERSION = "unknown"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


# An ISO-8601 instant as the service writes it, everywhere: UTC, milliseconds, `+00:00`
# (domain/events.format_timestamp).
_INSTANT = {
    "type": "string",
    "format": "date-time",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}\\+00:00$",
    "examples": ["2026-11-26T12:00:00.000+00:00"],
}
# What a client should send as an event's `ts`: an ISO-8601 date and time, seconds and up to
# seven fractional digits optional (C#'s `DateTime.UtcNow.ToString("o")` writes seven), `Z` or
# `±HH:MM` optional. (The server takes more: whatever Python's `datetime.fromisoformat` takes.
# RFC 3339's `date-time` format would be wrong both ways: it requires an offset, and allows
# leap seconds and a lower-case `z`, which the server refuses.)
_LOCAL_OR_OFFSET_TIME = (
    "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]"
    "(:[0-5][0-9](\\.[0-9]{1,7})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?$"
)
# The optional `sent_at` of a batch: the client's clock when it sent it, read like `ts`.
_SENT_AT = {
    "type": "string",
    "pattern": _LOCAL_OR_OFFSET_TIME,
    "description": (
        "The client's clock when it sent the batch, read like `ts` (without an offset: UTC). Every "
        "event's `ts` is moved by (the server's receive time - `sent_at`) before it is checked and "
        "stored, so a device clock that is wrong (or local time sent without an offset, when "
        "`sent_at` is written the same way) is corrected. Not a timestamp: 400 naming `sent_at`."
    ),
    "examples": ["2026-11-26T12:00:05Z"],
}
# The shape of a cursor (domain/paging.py); a string of this shape may still name no position.
_CURSOR = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{34}$",
    "description": "An opaque cursor: a page's `next_cursor`.",
}
_PLAYER_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_PLAYER_ID_LENGTH,
    # No control characters (Unicode category Cc: C0, DEL, C1).
    "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$",
    "description": f"Non-empty, at most {MAX_PLAYER_ID_LENGTH} characters, no control characters.",
    "examples": ["alice"],
}
# Who may call: nobody needs a key unless the server sets API_KEYS (ingest) or READ_API_KEYS
# (reads); `{}` first makes the schemes optional.
_INGEST_SECURITY: list[dict[str, list[str]]] = [{}, {"bearerKey": []}, {"apiKeyHeader": []}]
_READ_SECURITY = _INGEST_SECURITY

_ERRORS = {
    "400": _ref("responses", "BadRequest"),
    "401": _ref("responses", "Unauthorized"),
    "503": _ref("responses", "StorageUnavailable"),
}
_BODY_ERRORS = {
    "408": _ref("responses", "BodyTimeout"),
    "413": _ref("responses", "PayloadTooLarge"),
}

_EVENT_EXAMPLES = [
    {
        "event": "start",
        "player_id": "alice",
        "session_id": "5f0c8a4e-2d7b-4c38-9a59-1f4f0d6b2a11",
        "ts": "2026-11-26T11:30:00",
        "country": "FI",
    },
    {
        "event": "end",
        "player_id": "alice",
        "session_id": "5f0c8a4e-2d7b-4c38-9a59-1f4f0d6b2a11",
        "ts": "2026-11-26T12:00:00",
    },
]

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Player Session Service — REST API",
        "version": _VERSION,
        "summary": "Game events in, complete player sessions out.",
        "description": (
            "Game clients post `start` and `end` events; a session is complete once both have "
            'arrived, in any order. Every error is JSON: `{"error": "...", "details": [...]}`; '
            "bad input gets a 4xx, never a 5xx. Every answer carries `X-Request-ID` (the "
            "client's, when it is a short printable token). Request bodies may be sent with "
            "`Content-Encoding: gzip` or `deflate`; large answers are gzip-compressed for clients "
            "that send `Accept-Encoding: gzip`. Web pages on the origins the server names in "
            "`CORS_ALLOW_ORIGINS` may call it (CORS). The GraphQL API at `/graphql` "
            "offers the same operations; its schema is `schema.graphql`."
        ),
        "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    },
    # Relative to where this document is served (RFC 3986): the service itself, also behind
    # a proxy that mounts it under a prefix.
    "servers": [
        {"url": ".", "description": "The server that serves this document."},
        {"url": "http://127.0.0.1:8000", "description": "`make run` on this machine."},
    ],
    "tags": [
        {"name": "ingest", "description": "Game events in."},
        {"name": "reads", "description": "Sessions, statistics and counts out."},
        {"name": "operations", "description": "Probes, metrics and this document."},
    ],
    "paths": {
        "/events": {
            "post": {
                "operationId": "postEvents",
                "tags": ["ingest"],
                "summary": f"Store a batch of {MIN_BATCH_EVENTS} to {MAX_BATCH_EVENTS} events",
                "description": (
                    "The batch is validated whole before anything is written: one invalid event "
                    "rejects the batch (400, nothing stored). Events already older than the "
                    "retention period are counted but not stored, and still answered with "
                    '`POST success`, or with the counts `{"accepted": n, "expired": m}` when '
                    "`Accept` names `application/json`. With `sent_at` (the client's clock when it "
                    "sent the batch) every `ts` is first moved by (the server's receive time - "
                    "`sent_at`), correcting a device clock that is wrong. Re-sending a batch is "
                    "harmless. Needs a key only when the server sets `API_KEYS`. The body may be "
                    "compressed (`Content-Encoding: gzip` or `deflate`); `MAX_BODY_BYTES` then limits "
                    "it both as sent and once decompressed."
                ),
                "security": _INGEST_SECURITY,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref("schemas", "EventBatch"),
                            "examples": {
                                "rows": {"summary": "The original format", "value": {"rows": _EVENT_EXAMPLES}},
                                "sent_at": {
                                    "summary": "With the client's clock, for clock-skew correction",
                                    "value": {"rows": _EVENT_EXAMPLES, "sent_at": "2026-11-26T12:00:05"},
                                },
                                "events": {"value": {"events": _EVENT_EXAMPLES}},
                                "array": {"summary": "A bare array", "value": _EVENT_EXAMPLES},
                            },
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Every event was taken (or was already past retention).",
                        "content": {
                            "text/plain": {"schema": {"type": "string", "const": "POST success"}},
                            "application/json": {"schema": _ref("schemas", "SubmitResult")},
                        },
                    },
                    **_ERRORS,
                    **_BODY_ERRORS,
                    "415": _ref("responses", "UnsupportedMediaType"),
                },
            }
        },
        "/sessions": {
            "get": {
                "operationId": "getSessions",
                "tags": ["reads"],
                "summary": "A player's complete sessions, newest end first, a page at a time",
                "description": (
                    "An unknown player has an empty list. Pass a page's `next_cursor` back as `before` "
                    "for the next older page (no session repeated or skipped, also while new ones "
                    "arrive); `next_cursor` is `null` when nothing is older. For callers of the original "
                    "API (Postman), `player_id`, `limit` and `before` may instead be sent as a JSON "
                    "object in the body of the "
                    '`GET` (`{"player_id": "alice"}`); the query string wins when both are given. '
                    "Needs a key only when the server sets `READ_API_KEYS`."
                ),
                "security": _READ_SECURITY,
                "parameters": [
                    {
                        "name": "player_id",
                        "in": "query",
                        # Required, here or in the JSON body (which OpenAPI cannot say): 400 without.
                        "required": False,
                        "description": "The player. Required: here, or in the JSON body.",
                        "schema": _PLAYER_ID,
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "description": "How many sessions at most.",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_SESSIONS_LIMIT,
                            "default": DEFAULT_SESSIONS_LIMIT,
                        },
                    },
                    {
                        "name": "before",
                        "in": "query",
                        "required": False,
                        "description": "A previous page's `next_cursor`: return the sessions after that page. "
                        "Anything else is a 400.",
                        "schema": _CURSOR,
                    },
                ],
                "requestBody": {
                    "required": False,
                    "description": (
                        "The original API's call (Postman): the parameters as a JSON object in the body "
                        "of the `GET` instead of the query string; where both name one, the query "
                        "string wins. Anything but a JSON object is a 400."
                    ),
                    "content": {
                        "application/json": {
                            "schema": _ref("schemas", "SessionsQuery"),
                            "examples": {
                                "player": {"summary": "The original call", "value": {"player_id": "alice"}},
                                "page": {"value": {"player_id": "alice", "limit": 5}},
                            },
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The sessions.",
                        "content": _json(_ref("schemas", "PlayerSessions")),
                    },
                    **_ERRORS,
                    **_BODY_ERRORS,
                },
            }
        },
        "/session-starts": {
            "get": {
                "operationId": "getSessionStarts",
                "tags": ["reads"],
                "summary": "Session starts per country in the last `hours`, largest first",
                "description": (
                    "Each session's start counts once, in the hour it happened. The window ends with "
                    "the current minute: its edges are whole minutes. Needs a key only when the "
                    "server sets `READ_API_KEYS`."
                ),
                "security": _READ_SECURITY,
                "parameters": [
                    {
                        "name": "hours",
                        "in": "query",
                        "required": True,
                        "description": "The window's length in hours.",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_WINDOW_HOURS},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The counts.",
                        "content": _json(_ref("schemas", "SessionStarts")),
                    },
                    **_ERRORS,
                },
            }
        },
        "/session-starts/series": {
            "get": {
                "operationId": "getSessionStartsSeries",
                "tags": ["reads"],
                "summary": "Session starts per UTC hour or day and country over the last `hours`",
                "description": (
                    "The same window as `/session-starts` (ending with the current minute), cut into "
                    "UTC-aligned hours or days; the first and last bucket are cut by the window, so the "
                    "series sums to exactly the `/session-starts` counts. Ordered by `bucket_start`, then "
                    f"`country`; empty buckets are left out. At most {MAX_SERIES_BUCKETS:,} buckets: with "
                    f"`step=hour`, `hours` is at most {MAX_SERIES_BUCKETS}. Reads stored hourly and daily "
                    "counts, so its cost does not grow with the number of sessions. Needs a key only when "
                    "the server sets `READ_API_KEYS`."
                ),
                "security": _READ_SECURITY,
                "parameters": [
                    {
                        "name": "hours",
                        "in": "query",
                        "required": True,
                        "description": f"The window's length in hours (at most {MAX_SERIES_BUCKETS} with `step=hour`).",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_WINDOW_HOURS},
                    },
                    {
                        "name": "step",
                        "in": "query",
                        "required": True,
                        "description": "The bucket size.",
                        "schema": {"type": "string", "enum": ["hour", "day"]},
                    },
                    {
                        "name": "country",
                        "in": "query",
                        "required": False,
                        "description": "Only this country (ISO 3166-1 alpha-2, any case).",
                        "schema": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The series.",
                        "content": _json(_ref("schemas", "SessionStartsSeries")),
                    },
                    **_ERRORS,
                },
            }
        },
        "/players/{player_id}/stats": {
            "get": {
                "operationId": "getPlayerStats",
                "tags": ["reads"],
                "summary": "Totals over a player's retained complete sessions",
                "description": (
                    "An unknown player has 0 sessions and `null` average and last end. The player id "
                    "may contain `/` (percent-encoded or not). Needs a key only when the server sets "
                    "`READ_API_KEYS`."
                ),
                "security": _READ_SECURITY,
                "parameters": [{"name": "player_id", "in": "path", "required": True, "schema": _PLAYER_ID}],
                "responses": {
                    "200": {
                        "description": "The totals.",
                        "content": _json(_ref("schemas", "PlayerStats")),
                    },
                    **_ERRORS,
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "security": [],  # open, whatever keys the server sets
                "tags": ["operations"],
                "summary": "Liveness: the process runs",
                "responses": {
                    "200": {
                        "description": "The process runs.",
                        "content": _json(
                            {
                                "type": "object",
                                "properties": {"status": {"const": "ok"}},
                                "required": ["status"],
                                "additionalProperties": False,
                            }
                        ),
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "security": [],  # open, whatever keys the server sets
                "tags": ["operations"],
                "summary": "Readiness: Cassandra answers (within 2 seconds)",
                "responses": {
                    "200": {
                        "description": "Ready to serve.",
                        "content": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "status": {"const": "ready"},
                                    "cassandra": {"type": "string", "description": "Cassandra's release version."},
                                    "keyspace": {"type": "string"},
                                },
                                "required": ["status", "cassandra", "keyspace"],
                                "additionalProperties": False,
                            }
                        ),
                    },
                    "503": {
                        "description": (
                            "Cassandra does not answer; the reason says whether it is unreachable or "
                            "refuses the credentials (or TLS, protocol version, datacenter)."
                        ),
                        "content": _json(
                            {
                                "type": "object",
                                "properties": {"status": {"const": "unavailable"}, "reason": {"type": "string"}},
                                "required": ["status", "reason"],
                                "additionalProperties": False,
                            }
                        ),
                    },
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["operations"],
                "summary": "Prometheus metrics",
                "description": (
                    "The Prometheus text format, or OpenMetrics when the `Accept` header asks for it. "
                    "Needs `METRICS_TOKEN` as a bearer token only when the server sets it."
                ),
                "security": [{}, {"metricsToken": []}],
                "responses": {
                    "200": {
                        "description": "A scrape.",
                        "content": {
                            "text/plain": {"schema": {"type": "string"}},
                            "application/openmetrics-text": {"schema": {"type": "string"}},
                        },
                    },
                    "401": _ref("responses", "Unauthorized"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "security": [],  # open, whatever keys the server sets
                "tags": ["operations"],
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document of the REST API.",
                        "content": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "openapi": {"type": "string"},
                                    "info": {"type": "object"},
                                    "paths": {"type": "object"},
                                },
                                "required": ["openapi", "info", "paths"],
                            }
                        ),
                    }
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Event": {
                "type": "object",
                "description": "One game event. Unknown extra fields are ignored.",
                "properties": {
                    "event": {"type": "string", "enum": ["start", "end"]},
                    "player_id": _PLAYER_ID,
                    "session_id": {"type": "string", "format": "uuid", "description": "A UUID (any version)."},
                    "ts": {
                        "type": "string",
                        "pattern": _LOCAL_OR_OFFSET_TIME,
                        "description": (
                            "ISO-8601 date and time (the pattern gives the syntax; the date must also "
                            "exist). Without an offset it means UTC; with one it is converted to UTC. "
                            "Stored with millisecond precision. Moved by the batch's `sent_at` correction "
                            "when it has one. More than 24 hours in the future "
                            "(`MAX_FUTURE_SECONDS`) is invalid; older than the retention period (365 days) "
                            "is taken but not stored."
                        ),
                        "examples": ["2016-12-02T05:36:16", "2016-12-02T12:48:05.520022", "2026-11-26T12:00:00Z"],
                    },
                    "country": {
                        "type": "string",
                        "pattern": "^[A-Za-z]{2}$",
                        "description": (
                            "ISO 3166-1 alpha-2, two letters, stored upper case. Required on `start`, ignored on `end`."
                        ),
                        "examples": ["FI"],
                    },
                },
                "required": ["event", "player_id", "session_id", "ts"],
                "if": {"properties": {"event": {"const": "start"}}, "required": ["event"]},
                "then": {"required": ["country"]},
            },
            "Events": {
                "type": "array",
                "items": _ref("schemas", "Event"),
                "minItems": MIN_BATCH_EVENTS,
                "maxItems": MAX_BATCH_EVENTS,
            },
            "EventBatch": {
                "description": (
                    'A bare array of events, `{"rows": [...]}` (the original format) or `{"events": [...]}`.'
                ),
                "oneOf": [
                    _ref("schemas", "Events"),
                    {
                        "type": "object",
                        "properties": {"rows": _ref("schemas", "Events"), "sent_at": _SENT_AT},
                        "required": ["rows"],
                    },
                    {
                        "type": "object",
                        "properties": {"events": _ref("schemas", "Events"), "sent_at": _SENT_AT},
                        "required": ["events"],
                        "not": {"required": ["rows"]},
                    },
                ],
            },
            "SubmitResult": {
                "type": "object",
                "description": (
                    "What became of a batch that was taken: `accepted` events were stored (a "
                    "re-delivered event counts again: storing it twice is harmless); `expired` ones "
                    "were valid but already older than the retention period (by `ts`, after any "
                    "`sent_at` correction), so they were dropped. Together they are the batch's size."
                ),
                "properties": {
                    "accepted": {"type": "integer", "minimum": 0, "maximum": MAX_BATCH_EVENTS},
                    "expired": {"type": "integer", "minimum": 0, "maximum": MAX_BATCH_EVENTS},
                },
                "required": ["accepted", "expired"],
                "additionalProperties": False,
                "examples": [{"accepted": 2, "expired": 0}],
            },
            "SessionsQuery": {
                "type": "object",
                "description": "`GET /sessions`' parameters as a JSON body; unknown fields are ignored.",
                "properties": {
                    "player_id": _PLAYER_ID,
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_SESSIONS_LIMIT,
                        "default": DEFAULT_SESSIONS_LIMIT,
                    },
                    "before": _CURSOR,
                },
            },
            "Session": {
                "type": "object",
                "properties": {
                    "session_id": {"type": "string", "format": "uuid"},
                    "player_id": {"type": "string"},
                    "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                    "start_ts": _INSTANT,
                    "end_ts": _INSTANT,
                    "duration_seconds": {"type": "number", "minimum": 0},
                },
                "required": ["session_id", "player_id", "country", "start_ts", "end_ts", "duration_seconds"],
                "additionalProperties": False,
            },
            "PlayerSessions": {
                "type": "object",
                "properties": {
                    "player_id": {"type": "string"},
                    "sessions": {
                        "type": "array",
                        "items": _ref("schemas", "Session"),
                        "maxItems": MAX_SESSIONS_LIMIT,
                    },
                    "next_cursor": {
                        "oneOf": [_CURSOR, {"type": "null"}],
                        "description": "Pass as `before` for the next older page; `null`: nothing is older.",
                    },
                },
                "required": ["player_id", "sessions", "next_cursor"],
                "additionalProperties": False,
            },
            "SessionStarts": {
                "type": "object",
                "properties": {
                    "hours": {"type": "integer", "minimum": 1, "maximum": MAX_WINDOW_HOURS},
                    "from": {**_INSTANT, "description": "The window's start (a whole minute)."},
                    "to": {**_INSTANT, "description": "The window's end (a whole minute)."},
                    "countries": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                                "session_starts": {"type": "integer", "minimum": 1},
                            },
                            "required": ["country", "session_starts"],
                            "additionalProperties": False,
                        },
                    },
                },
                "required": ["hours", "from", "to", "countries"],
                "additionalProperties": False,
            },
            "SessionStartsSeries": {
                "type": "object",
                "properties": {
                    "hours": {"type": "integer", "minimum": 1, "maximum": MAX_WINDOW_HOURS},
                    "step": {"type": "string", "enum": ["hour", "day"]},
                    "from": {**_INSTANT, "description": "The window's start (a whole minute)."},
                    "to": {**_INSTANT, "description": "The window's end (a whole minute)."},
                    "series": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "bucket_start": {**_INSTANT, "description": "The start of the UTC hour or day."},
                                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                                "session_starts": {"type": "integer", "minimum": 1},
                            },
                            "required": ["bucket_start", "country", "session_starts"],
                            "additionalProperties": False,
                        },
                    },
                },
                "required": ["hours", "step", "from", "to", "series"],
                "additionalProperties": False,
            },
            "PlayerStats": {
                "type": "object",
                "properties": {
                    "player_id": {"type": "string"},
                    "completed_sessions": {"type": "integer", "minimum": 0},
                    "total_seconds": {"type": "number", "minimum": 0},
                    "average_seconds": {"type": ["number", "null"], "minimum": 0},
                    "last_session_end": {"oneOf": [_INSTANT, {"type": "null"}]},
                    "truncated": {
                        "type": "boolean",
                        "description": "True when the player has more sessions than one read takes "
                        f"({STATS_MAX_SESSIONS:,}): the totals are then over that many of them.",
                    },
                },
                "required": [
                    "player_id",
                    "completed_sessions",
                    "total_seconds",
                    "average_seconds",
                    "last_session_end",
                    "truncated",
                ],
                "additionalProperties": False,
            },
            "Problem": {
                "type": "object",
                "description": "One thing wrong with the input; `index` is the event's position in the batch.",
                "properties": {
                    "index": {"type": "integer", "minimum": 0},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["field", "message"],
                "additionalProperties": False,
            },
            "Error": {
                "type": "object",
                "properties": {
                    "error": {"type": "string", "description": "One line naming every problem."},
                    "details": {"type": "array", "items": _ref("schemas", "Problem"), "minItems": 1},
                },
                "required": ["error"],
                "additionalProperties": False,
                "examples": [
                    {
                        "error": "invalid event batch: events[0].country must be an ISO 3166-1 alpha-2 "
                        "country code (two letters)",
                        "details": [
                            {
                                "index": 0,
                                "field": "country",
                                "message": "must be an ISO 3166-1 alpha-2 country code (two letters)",
                            }
                        ],
                    }
                ],
            },
        },
        "responses": {
            "BadRequest": {
                "description": (
                    "Bad input, naming every problem (and nothing from a batch stored); also a URL "
                    "that is not UTF-8, a Host the server does not serve (`ALLOWED_HOSTS`), or a "
                    "compressed body that is corrupt or cut short."
                ),
                "content": _json(_ref("schemas", "Error")),
            },
            "Unauthorized": {
                "description": "A key is required (the server sets `API_KEYS`, `READ_API_KEYS` or `METRICS_TOKEN`).",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}},
                "content": _json(_ref("schemas", "Error")),
            },
            "BodyTimeout": {
                "description": "The request body did not arrive in time (30 seconds).",
                "content": _json(_ref("schemas", "Error")),
            },
            "PayloadTooLarge": {
                "description": (
                    "The request body is larger than `MAX_BODY_BYTES` (64 KiB by default), as sent or, "
                    "when compressed, once decompressed."
                ),
                "content": _json(_ref("schemas", "Error")),
            },
            "UnsupportedMediaType": {
                "description": (
                    "The request's `Content-Type` is not `application/json`, or its `Content-Encoding` is "
                    "neither `gzip`, `deflate` nor `identity`."
                ),
                "content": _json(_ref("schemas", "Error")),
            },
            "StorageUnavailable": {
                "description": (
                    "Cassandra failed or timed out. Safe to retry: every write is idempotent (some "
                    "events of a batch may already be stored)."
                ),
                "headers": {"Retry-After": {"schema": {"type": "string", "const": "1"}}},
                "content": _json(_ref("schemas", "Error")),
            },
        },
        "securitySchemes": {
            "bearerKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "A key of `API_KEYS` (ingest, and reads) or `READ_API_KEYS` (reads), when set.",
            },
            "apiKeyHeader": {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "The same keys as `bearerKey`, in a header of their own.",
            },
            "metricsToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "`METRICS_TOKEN`, when set.",
            },
        },
    },
}

# Rendered once: the document does not change while the process runs.
_RENDERED = json.dumps(DOCUMENT, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def openapi_json(request: Request) -> Response:
    """`GET /openapi.json`: the document above."""
    return Response(_RENDERED, media_type="application/json")
