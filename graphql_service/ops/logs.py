"""Logging: plain text by default, one JSON object per line with `LOG_FORMAT=json`.

Every line written while a request is being served carries that request's id: the
client's `X-Request-ID` when it is a short printable token, otherwise one we generate.
The response echoes it, so a client's report and our logs can be matched up. The id
lives in a contextvar, which follows the request through awaits and into the tasks it
starts (asyncio copies the context), without passing it around.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import TextIO

from ..settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
MAX_REQUEST_ID_LENGTH = 128
# uvicorn logs through these; they get our handler instead of uvicorn's own.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# What every LogRecord has; anything else on a record came from `extra=` and goes into the JSON.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}
# uvicorn's `extra`: the same message with terminal colour codes.
_NOT_LOGGED = frozenset({"color_message"})


def accepted_request_id(raw: str | None) -> str | None:
    """The client's id if it is 1..128 printable ASCII characters without spaces, else None.

    Anything longer, or with spaces or control characters, could flood or forge log lines."""
    if raw and len(raw) <= MAX_REQUEST_ID_LENGTH and all("!" <= char <= "~" for char in raw):
        return raw
    return None


class RequestIdFilter(logging.Filter):
    """Stamps the current request's id (or None) on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class TextFormatter(logging.Formatter):
    """`2026-11-26 12:00:00,123 INFO graphql_service.ingest [4be0…] message`; `[-]` outside requests."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or "-"
        line = f"{self.formatTime(record)} {record.levelname} {record.name} [{request_id}] {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (during a
    request), every `extra=` field, and exception (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in _NOT_LOGGED:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _ServiceHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our handler on the root logger; a class of its own so reconfiguring replaces it."""


def build_handler(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    handler = _ServiceHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    # On the handler too: uvicorn's loggers carry levels of their own, and records they
    # pass up to the root are not filtered by the root logger's level.
    handler.setLevel(settings.log_level)
    return handler


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Send every log line of the process, uvicorn's included, through one handler.

    Idempotent: the CLI calls it, and so does each uvicorn worker when it builds its app
    (workers are fresh processes, and uvicorn installs its own handlers before that)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ServiceHandler)]:
        root.removeHandler(old)
    root.addHandler(build_handler(settings, stream))
    root.setLevel(settings.log_level)
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True


def bind_request_id(request_id: str) -> Token[str | None]:
    """Every log line from here on in this task (and the tasks it starts) carries the id."""
    return _request_id.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)
