"""Log lines: text or JSON, and the request id that ties a request's lines together."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from graphql_service.api.middleware import RequestId
from graphql_service.ops.logs import SERVER_LOGGERS, build_handler, configure_logging
from graphql_service.settings import ConfigError, LogFormat, Settings
from graphql_service.store.backends import Backend as Database

from ..servers import served, serving

pytestmark = pytest.mark.anyio

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@contextmanager
def captured(log_format: LogFormat) -> Iterator[io.StringIO]:
    """Our handler, in `log_format`, on the root logger for the duration."""
    stream = io.StringIO()
    handler = build_handler(Settings(log_format=log_format, log_level="INFO"), stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def logging_app() -> Starlette:
    async def hello(request: Request) -> PlainTextResponse:
        logging.getLogger("tests.hello").info("hello from the endpoint", extra={"session_id": "5f0c"})
        return PlainTextResponse("hi")

    return Starlette(routes=[Route("/hello", hello)], middleware=[Middleware(RequestId)])


async def test_a_json_log_line_written_during_a_request_carries_the_clients_request_id() -> None:
    async with serving(logging_app()) as client:
        with captured("json") as stream:
            response = await client.get("/hello", headers={"X-Request-ID": "client-req-42"})

    assert response.headers["X-Request-ID"] == "client-req-42"
    [line] = [line for line in json_lines(stream) if line["logger"] == "tests.hello"]
    assert line["request_id"] == "client-req-42"
    assert line["level"] == "INFO"
    assert line["message"] == "hello from the endpoint"
    assert line["session_id"] == "5f0c"  # `extra=` fields become JSON fields


async def test_a_missing_or_unusable_request_id_is_replaced_by_a_generated_one(client: httpx.AsyncClient) -> None:
    plain = await client.get("/healthz")
    spaced = await client.get("/healthz", headers={"X-Request-ID": "two words"})
    too_long = await client.get("/healthz", headers={"X-Request-ID": "x" * 129})
    longest = await client.get("/healthz", headers={"X-Request-ID": "y" * 128})

    ids = [r.headers["X-Request-ID"] for r in (plain, spaced, too_long)]
    assert all(GENERATED_ID.match(request_id) for request_id in ids)
    assert len(set(ids)) == 3
    assert longest.headers["X-Request-ID"] == "y" * 128


async def test_text_lines_name_the_request_id_or_a_dash_outside_requests() -> None:
    with captured("text") as stream:
        logging.getLogger("tests.outside").info("before any request")
        async with serving(logging_app()) as client:
            await client.get("/hello", headers={"X-Request-ID": "abc-123"})

    outside, inside = [line for line in stream.getvalue().splitlines() if " tests." in line]
    assert re.fullmatch(r"\S+ \S+ INFO tests\.outside \[-\] before any request", outside)
    assert re.fullmatch(r"\S+ \S+ INFO tests\.hello \[abc-123\] hello from the endpoint", inside)


def test_json_lines_carry_the_traceback_of_a_logged_exception() -> None:
    with captured("json") as stream:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("tests.errors").exception("it failed")

    [line] = json_lines(stream)
    assert line["message"] == "it failed"
    assert "request_id" not in line
    assert "ValueError: boom" in str(line["exception"])


def test_configuring_twice_still_writes_each_line_once() -> None:
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    saved_server = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate) for name in SERVER_LOGGERS
    }
    stream = io.StringIO()
    try:
        configure_logging(Settings(log_format="json"), stream)
        configure_logging(Settings(log_format="json"), stream)
        logging.getLogger("uvicorn.error").info("started")
    finally:
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for name, (handlers, propagate) in saved_server.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate

    assert [(line["logger"], line["message"]) for line in json_lines(stream)] == [("uvicorn.error", "started")]


def test_log_format_and_level_are_read_from_the_environment() -> None:
    assert (Settings.from_env({}).log_format, Settings.from_env({}).log_level) == ("text", "INFO")
    configured = Settings.from_env({"LOG_FORMAT": "JSON", "LOG_LEVEL": "debug"})
    assert (configured.log_format, configured.log_level) == ("json", "DEBUG")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        Settings.from_env({"LOG_LEVEL": "loud"})


def test_served_workers_write_json_lines_with_the_clients_request_id(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    log_path = tmp_path / "server.log"

    with served(settings, log_path, WEB_CONCURRENCY="2", LOG_FORMAT="json") as url:
        response = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "probe-1"})

    assert response.headers["X-Request-ID"] == "probe-1"
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    # Each worker is a fresh process: both must have set up JSON logging for themselves.
    assert len([line for line in lines if str(line["message"]).startswith("Started server process")]) == 2
    [access] = [line for line in lines if line["logger"] == "uvicorn.access" and "/healthz" in str(line["message"])]
    assert access["request_id"] == "probe-1"
