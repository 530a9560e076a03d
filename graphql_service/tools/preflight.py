"""What `serve` and `import` check before they work: Cassandra answers and lets us in, the
keyspace holds every migration and table, and every statement prepares.

Each failure is a ServiceError whose one line names the fix. Without `--debug` the checks
run with logging switched off: the drivers log a refused prepare with a traceback of their
own, which would bury that line.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from ..core.service import SessionService
from ..domain.errors import ConfigError, StorageRejected
from ..settings import Settings
from ..store import backends, migrations
from ..store.backends import Backend


@contextmanager
def silenced(enabled: bool) -> Iterator[None]:
    """No logging inside, when enabled: the caller reports the outcome in one line."""
    if not enabled:
        yield
        return
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


@asynccontextmanager
async def ready_service(settings: Settings, *, debug: bool = False) -> AsyncIterator[SessionService]:
    """A SessionService on a checked keyspace; its connection is closed on leaving."""
    async with ready(settings, debug=debug) as (_, service):
        yield service


@asynccontextmanager
async def ready(settings: Settings, *, debug: bool = False) -> AsyncIterator[tuple[Backend, SessionService]]:
    """The checked connection and a SessionService on it (for tools that also run statements
    of their own, like `upgrade`); closed on leaving."""
    with silenced(not debug):
        db = await backends.connect(settings)
        try:
            await migrations.check_migrated(db, settings)
            service = await SessionService.create(db, settings)
        except StorageRejected as exc:
            await db.close()
            # Tables are all there (checked above), so a column or type differs.
            raise ConfigError(
                f"keyspace {settings.keyspace!r} does not match the schema this version expects ({exc}): "
                f"{migrations.MIGRATE_FIX}, or use a fresh CASSANDRA_KEYSPACE"
            ) from exc
        except BaseException:
            await db.close()
            raise
    try:
        yield db, service
    finally:
        await db.close()
