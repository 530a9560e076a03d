"""The schema files are applied in order, once, and a second run changes nothing."""

from __future__ import annotations

import re

import pytest

from graphql_service.domain.errors import ConfigError
from graphql_service.settings import Settings
from graphql_service.store import migrations
from graphql_service.store.backends import Backend as Database

pytestmark = pytest.mark.anyio

# Every table the files in cql/ create (schema_migrations is migrations.py's own).
TABLES = {
    "schema_migrations",
    "completed_sessions_by_player",
    "session_starts_by_minute",
    "session_start_counts",
    "session_start_buckets",
    "session_events_by_player",
    "changed_start_days_by_minute",
    "sessions_by_player",
    "start_conflicts_by_minute",
    "upgrade_progress",
}


async def test_a_second_run_applies_nothing(settings: Settings, database: Database) -> None:
    assert await migrations.apply(database, settings) == []


async def test_every_file_was_recorded(settings: Settings, database: Database) -> None:
    rows = await database.execute_schema(f"SELECT name FROM {settings.keyspace}.schema_migrations")

    assert sorted(r["name"] for r in rows) == [m.name for m in migrations.load(settings)]
    assert await migrations.applied_migrations(database, settings.keyspace) == {
        m.name for m in migrations.load(settings)
    }


async def test_a_fresh_keyspace_gets_every_table(settings: Settings, database: Database) -> None:
    scratch = settings.with_overrides(keyspace=settings.keyspace + "_scratch")
    try:
        applied = await migrations.apply(database, scratch)
        tables = await database.execute_schema(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", (scratch.keyspace,)
        )
    finally:
        await migrations.drop_keyspace(database, scratch.keyspace)

    assert applied == [m.name for m in migrations.load(scratch)]
    assert {t["table_name"] for t in tables} == TABLES
    # ...and TABLES is every table the files create (a new file's table must be added above).
    created = re.compile(rf"CREATE TABLE IF NOT EXISTS {scratch.keyspace}\.(\w+)")
    statements = [s for m in migrations.load(scratch) for s in m.statements]
    assert {match[1] for s in statements if (match := created.search(s))} == TABLES
    assert not await database.execute_schema(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?", (scratch.keyspace,)
    )


def test_keyspace_and_replication_come_from_settings() -> None:
    custom = Settings(keyspace="prod_sessions", replication="{'class': 'NetworkTopologyStrategy', 'dc1': 3}")

    first = migrations.load(custom)[0].statements[0]

    assert "CREATE KEYSPACE IF NOT EXISTS prod_sessions" in first
    assert "'NetworkTopologyStrategy', 'dc1': 3" in first


def test_comments_and_semicolons_split_statements() -> None:
    text = (
        "-- a comment; with a semicolon\nCREATE TABLE a (x int PRIMARY KEY);\n\nCREATE TABLE b (y int PRIMARY KEY);\n"
    )

    assert migrations.split_statements(text) == [
        "CREATE TABLE a (x int PRIMARY KEY)",
        "CREATE TABLE b (y int PRIMARY KEY)",
    ]


async def test_a_recorded_migration_whose_table_is_gone_is_applied_again(
    settings: Settings, database: Database
) -> None:
    scratch = settings.with_overrides(keyspace=settings.keyspace + "_lost")
    try:
        await migrations.apply(database, scratch)
        await database.execute_schema(f"DROP TABLE {scratch.keyspace}.session_start_counts")
        with pytest.raises(ConfigError, match="has lost table session_start_counts since it was migrated"):
            await migrations.check_migrated(database, scratch)

        again = await migrations.apply(database, scratch)
        await migrations.check_migrated(database, scratch)
    finally:
        await migrations.drop_keyspace(database, scratch.keyspace)

    assert again == ["004_session_starts"]


def test_each_migration_names_the_tables_it_creates() -> None:
    by_name = {m.name: m.tables for m in migrations.load(Settings())}

    assert by_name["001_keyspace"] == ("schema_migrations",)
    assert by_name["004_session_starts"] == (
        "session_starts_by_minute",
        "session_start_counts",
        "session_start_buckets",
    )
    assert by_name["006_session_start_times"] == ()
