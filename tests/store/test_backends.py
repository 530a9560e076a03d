"""The storage protocol, as every backend must keep it (runs once per backend)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from graphql_service.domain.errors import StorageRejected, StorageUnavailable
from graphql_service.settings import Settings
from graphql_service.store import backends
from graphql_service.store.backends import Backend

pytestmark = pytest.mark.anyio


@pytest.fixture
async def scratch(database: Backend, settings: Settings) -> AsyncIterator[str]:
    table = f"{settings.keyspace}.protocol_{uuid.uuid4().hex[:8]}"
    await database.execute_schema(
        f"CREATE TABLE {table} (k text, c int, id uuid, at timestamp, n bigint, PRIMARY KEY ((k), c))"
    )
    yield table
    await database.execute_schema(f"DROP TABLE {table}")


async def test_rows_come_back_as_dicts_with_aware_utc_datetimes_and_uuids(database: Backend, scratch: str) -> None:
    insert = await database.prepare(
        "insert", f"INSERT INTO {scratch} (k, c, id, at, n) VALUES (?, ?, ?, ?, ?)", write=True
    )
    select = await database.prepare("select", f"SELECT k, c, id, at, n FROM {scratch} WHERE k = ?", write=False)
    ident = uuid.uuid4()
    helsinki = timezone(timedelta(hours=2))
    at = datetime(2026, 11, 26, 14, 0, 0, 123000, tzinfo=helsinki)

    await database.execute(insert, ("a", 1, ident, at, 2**40))
    [row] = await database.execute(select, ("a",))

    assert row == {"k": "a", "c": 1, "id": ident, "at": at.astimezone(UTC), "n": 2**40}
    assert row["at"].tzinfo is not None and row["at"].utcoffset() == timedelta(0)


async def test_execute_returns_every_row_and_execute_page_one_page_at_a_time(database: Backend, scratch: str) -> None:
    insert = await database.prepare("insert", f"INSERT INTO {scratch} (k, c) VALUES (?, ?)", write=True)
    select = await database.prepare("select", f"SELECT c FROM {scratch} WHERE k = ?", write=False)
    for c in range(25):
        await database.execute(insert, ("p", c))

    assert [r["c"] for r in await database.execute(select, ("p",))] == list(range(25))
    pages, state = [], None
    while True:
        page = await database.execute_page(select, ("p",), page_size=10, paging_state=state)
        pages.append([r["c"] for r in page.rows])
        state = page.paging_state
        if state is None:
            break
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [c for page in pages for c in page] == list(range(25))


async def test_a_batch_writes_one_partition_at_each_statements_own_timestamp(database: Backend, scratch: str) -> None:
    insert = await database.prepare(
        "insert", f"INSERT INTO {scratch} (k, c, n) VALUES (?, ?, ?) USING TIMESTAMP ?", write=True
    )
    await database.execute_batch("both", [(insert, ("b", 1, 10, 1_000_000)), (insert, ("b", 2, 20, 2_000_000))])

    rows = await database.execute_schema(f"SELECT c, n, writetime(n) AS w FROM {scratch} WHERE k = ?", ("b",))
    assert [(r["c"], r["n"], r["w"]) for r in rows] == [(1, 10, 1_000_000), (2, 20, 2_000_000)]


async def test_a_list_binds_to_in(database: Backend, scratch: str) -> None:
    insert = await database.prepare("insert", f"INSERT INTO {scratch} (k, c) VALUES (?, ?)", write=True)
    select = await database.prepare("select", f"SELECT c FROM {scratch} WHERE k = ? AND c IN ?", write=False)
    for c in range(5):
        await database.execute(insert, ("i", c))

    assert [r["c"] for r in await database.execute(select, ("i", [1, 3]))] == [1, 3]


async def test_observers_see_each_statement_by_name_with_its_error(database: Backend, scratch: str) -> None:
    seen: list[tuple[str, str | None]] = []

    def observe(name: str, seconds: float, error: BaseException | None) -> None:
        seen.append((name, type(error).__name__ if error else None))

    select = await database.prepare("named_select", f"SELECT c FROM {scratch} WHERE k = ?", write=False)
    database.observers.append(observe)
    try:
        await database.execute(select, ("x",))
    finally:
        database.observers.remove(observe)

    assert seen == [("named_select", None)]


async def test_a_statement_cassandra_refuses_is_rejected_not_unavailable(database: Backend) -> None:
    with pytest.raises(StorageRejected):
        await database.prepare("bad", "SELECT nothing FROM no_such_keyspace.no_such_table", write=False)


async def test_a_closed_backend_is_unavailable_not_a_crash(settings: Settings) -> None:
    own = await backends.connect(settings)
    select = await own.prepare("ping_table", "SELECT release_version FROM system.local", write=False)
    await own.close()

    with pytest.raises(StorageUnavailable):
        await own.execute(select)


async def test_ping_names_the_cassandra_release(database: Backend) -> None:
    assert (await database.ping()).startswith("5.0")
