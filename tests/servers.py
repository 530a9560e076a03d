"""Start the real server process (the Dockerfile's CMD) for tests that need one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette

from graphql_service.settings import Settings
from graphql_service.tools.readiness import free_port, running

__all__ = ["free_port", "served", "serving"]


@contextmanager
def served(settings: Settings, log_path: Path, **env: str) -> Iterator[str]:
    """`python -m graphql_service serve` against the test keyspace on a free port, with
    extra environment; yields its base URL once /readyz answers, and stops it with SIGINT
    (Ctrl-C) at the end. The server's output goes to `log_path`."""
    port = free_port()
    full_env = {
        **os.environ,
        "CASSANDRA_DRIVER": settings.driver,
        "CASSANDRA_KEYSPACE": settings.keyspace,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **env,
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "graphql_service", "serve"], env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    with running(process, base_url, log_path):
        yield base_url


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and talk HTTP to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
            yield client
