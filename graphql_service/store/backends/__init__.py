"""One module per Cassandra driver, each behind the protocol in base.py. The only code in
the package that imports a driver; `connect` picks one by CASSANDRA_DRIVER and imports
only that one."""

from __future__ import annotations

from ...settings import Settings
from .base import Backend, Page, Prepared, Row, StatementObserver

__all__ = ["Backend", "Page", "Prepared", "Row", "StatementObserver", "connect"]


async def connect(settings: Settings) -> Backend:
    """A connected backend, or ConnectError/ConfigError saying in one line why not."""
    if settings.driver == "acsylla":
        from .acsylla import AcsyllaBackend

        return await AcsyllaBackend.connect(settings)
    from .cassandra_driver import CassandraDriverBackend

    return await CassandraDriverBackend.connect(settings)
