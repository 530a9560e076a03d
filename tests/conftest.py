"""Every storage and API test runs against a real Cassandra node, once per storage backend.

The session fixture starts the project's own local node (or uses the cluster named by
CASSANDRA_CONTACT_POINTS) and gives each backend's run a fresh keyspace, dropped at the
end. If the node cannot be started the fixture raises with the reason: tests error, never
skip.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store import backends, migrations
from graphql_service.store.backends import Backend
from graphql_service.tools import devnode

from .servers import served, serving


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


DRIVERS = ("acsylla", "cassandra-driver")


@pytest.fixture(scope="session", params=DRIVERS)
def settings(request: pytest.FixtureRequest) -> Settings:
    keyspace = f"test_{os.getpid()}_{secrets.token_hex(3)}"
    # No background settling in the apps tests build (it would add statements to the ones
    # tests count); tests/core/test_settling.py runs it on purpose, the served process too.
    return Settings.from_env().with_overrides(
        keyspace=keyspace, mask_errors=True, driver=request.param, settle_interval_seconds=0
    )


@pytest.fixture(scope="session")
def node_settings() -> devnode.NodeSettings:
    """The local node's settings (JAVA_HOME, CASSANDRA_HEAP, ...), for the tests that start one."""
    return devnode.NodeSettings.from_env()


@pytest.fixture(scope="session")
def cassandra(settings: Settings, node_settings: devnode.NodeSettings) -> None:
    if settings.uses_local_node:
        devnode.start(node_settings, devnode.default_spec(node_settings, settings.port), quiet=True)


@pytest.fixture(scope="session")
async def database(settings: Settings, cassandra: None, anyio_backend: str) -> AsyncIterator[Backend]:
    # Asking for anyio_backend lets AnyIO run this async fixture for sync tests too (the
    # browser and server-process tests), on the runner the async tests share.
    db = await backends.connect(settings)
    await migrations.apply(db, settings)
    yield db
    await migrations.drop_keyspace(db, settings.keyspace)
    await db.close()


@pytest.fixture(scope="session")
def live_server(settings: Settings, database: Backend) -> Iterator[str]:
    """The real server process, started with the same command as the Dockerfile's CMD
    (`python -m graphql_service serve`), against the test keyspace. Yields its base URL."""
    log_path = Path(tempfile.gettempdir()) / f"live-server-{settings.keyspace}.log"
    with served(settings, log_path) as base_url:
        yield base_url


@pytest.fixture
def statements(database: Backend) -> Iterator[list[str]]:
    """Names of the statements Cassandra executes while the test runs, in order."""
    seen: list[str] = []

    def observe(name: str, seconds: float, error: BaseException | None) -> None:
        seen.append(name)

    database.observers.append(observe)
    yield seen
    database.observers.remove(observe)


@pytest.fixture
async def client(settings: Settings, database: Backend) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(settings, database=database)) as client:
        yield client
