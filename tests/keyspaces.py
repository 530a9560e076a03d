"""A keyspace of a test's own, for tests that count things the shared run keyspace also holds
(per-country starts, settled buckets) or that drop their keyspace on purpose."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from graphql_service.settings import Settings
from graphql_service.store import migrations
from graphql_service.store.backends import Backend


@asynccontextmanager
async def own_keyspace(database: Backend, settings: Settings, label: str) -> AsyncIterator[Settings]:
    """`settings` for a fresh migrated keyspace named after the run's and `label`; dropped at the
    end, also when the test has dropped it already."""
    own = settings.with_overrides(keyspace=f"{settings.keyspace[:36]}_{label}_{secrets.token_hex(2)}")
    await migrations.apply(database, own)
    try:
        yield own
    finally:
        await migrations.drop_keyspace(database, own.keyspace)
