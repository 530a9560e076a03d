"""Liveness and readiness."""

from __future__ import annotations

import httpx
import pytest

from graphql_service.app import create_app
from graphql_service.domain.errors import ConnectError
from graphql_service.settings import Settings
from graphql_service.store import backends

pytestmark = pytest.mark.anyio


async def test_healthz_says_the_process_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.json() == {"status": "ok"}


async def test_readyz_says_cassandra_answers(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["cassandra"].startswith("5.0")
    assert response.json()["keyspace"] == settings.keyspace


async def test_an_unreachable_cluster_is_named_in_one_line(settings: Settings) -> None:
    nowhere = settings.with_overrides(contact_points=("127.0.0.1",), port=1, connect_timeout_seconds=2)

    with pytest.raises(ConnectError, match=r"127\.0\.0\.1:1 is unreachable") as raised:
        await backends.connect(nowhere)
    assert "\n" not in str(raised.value)


async def test_the_app_refuses_to_start_against_an_unreachable_cluster(settings: Settings) -> None:
    app = create_app(settings.with_overrides(contact_points=("127.0.0.1",), port=1, connect_timeout_seconds=2))

    with pytest.raises(ConnectError):
        async with app.router.lifespan_context(app):
            pass
