"""The storage protocol: the narrow async seam every Cassandra driver sits behind.

Rows are plain dicts; timestamps go in and come out as timezone-aware UTC datetimes;
placeholders are `?` everywhere. Nothing of a driver's own types leaks past a backend,
so the repositories, migrations, tools and tests run unchanged on either driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ...domain.errors import StorageRejected, StorageUnavailable

Row = dict[str, Any]
# Called after every statement with (statement name, seconds, error or None); metrics and
# the tests' statement counter hook in here. Must not block.
StatementObserver = Callable[[str, float, BaseException | None], None]


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    # Opaque; pass it back to get the next page. None when this was the last one.
    paging_state: bytes | None


class Prepared(Protocol):
    """A statement prepared once at start-up; `name` labels it in metrics and logs."""

    @property
    def name(self) -> str: ...


class Backend(Protocol):
    """One per process: a connected session to the cluster, shared by every request."""

    observers: list[StatementObserver]

    async def prepare(self, name: str, cql: str, *, write: bool, idempotent: bool = True) -> Prepared:
        """Prepare `cql` (with `?` markers) at the write or read consistency of the settings."""
        ...

    async def execute(self, statement: Prepared, params: Sequence[Any] = ()) -> list[Row]:
        """Run one prepared statement; every row, following pages if there are several."""
        ...

    async def execute_page(
        self, statement: Prepared, params: Sequence[Any], *, page_size: int, paging_state: bytes | None = None
    ) -> Page:
        """One page of a prepared statement's rows."""
        ...

    async def execute_batch(self, name: str, statements: Sequence[tuple[Prepared, Sequence[Any]]]) -> None:
        """Several writes to ONE partition as one unlogged batch: one round trip, applied
        atomically by the replicas. Never use it across partitions."""
        ...

    async def execute_schema(self, cql: str, params: Sequence[Any] = ()) -> list[Row]:
        """An unprepared statement (DDL, migrations, tooling); waits for schema agreement."""
        ...

    async def ping(self) -> str:
        """The release version of the node that answers; StorageUnavailable if none does."""
        ...

    async def diagnose(self) -> str | None:
        """Why a fresh connection with these settings fails right now, or None if it works."""
        ...

    async def close(self) -> None: ...


def utc(value: datetime | None) -> datetime | None:
    """Drivers hand back naive datetimes that mean UTC (or aware ones): always aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Observed:
    """Times each statement and tells the observers; backends wrap their calls in it."""

    def __init__(self, observers: list[StatementObserver], name: str) -> None:
        self._observers = observers
        self._name = name
        self._started = 0.0

    def __enter__(self) -> Observed:
        self._started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        elapsed = time.perf_counter() - self._started
        # Observers see the error the service sees (StorageUnavailable, StorageRejected),
        # with the driver's own exception as its cause.
        seen = error.__cause__ if isinstance(error, StorageUnavailable | StorageRejected) else error
        for observe in self._observers:
            observe(self._name, elapsed, seen if isinstance(seen, BaseException) else error)
