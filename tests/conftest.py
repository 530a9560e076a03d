"""Every storage and API test runs against a real Cassandra node.

The session fixture starts the project's own local node (or uses the cluster named by
CASSANDRA_CONTACT_POINTS) and gives the run a fresh keyspace, dropped at the end. If
the node cannot be started the fixture raises with the reason: tests error, never skip.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from graphql_service import devnode, migrations
from graphql_service.app import create_app
from graphql_service.db import Database
from graphql_service.settings import Settings


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def settings() -> Settings:
    keyspace = f"test_{os.getpid()}_{secrets.token_hex(3)}"
    return Settings.from_env().with_overrides(keyspace=keyspace, mask_errors=True)


@pytest.fixture(scope="session")
def cassandra(settings: Settings) -> None:
    if settings.uses_local_node:
        devnode.start(settings, quiet=True)


@pytest.fixture(scope="session")
def database(settings: Settings, cassandra: None) -> Iterator[Database]:
    db = Database.connect(settings)
    migrations.apply(db, settings)
    yield db
    migrations.drop_keyspace(db, settings.keyspace)
    db.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(settings: Settings, database: Database) -> Iterator[str]:
    """The real server process, started with the same command as the Dockerfile's CMD
    (`python -m graphql_service serve`), on a free port, against the test keyspace.
    Yields its base URL; stopped with SIGINT (Ctrl-C) at the end of the run."""
    port = _free_port()
    env = {**os.environ, "CASSANDRA_KEYSPACE": settings.keyspace, "HOST": "127.0.0.1", "PORT": str(port)}
    log_path = Path(tempfile.gettempdir()) / f"live-server-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "graphql_service", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and talk HTTP to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
            yield client


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(settings, database=database)) as client:
        yield client
