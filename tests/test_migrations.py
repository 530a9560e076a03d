"""The schema files are applied in order, once, and a second run changes nothing."""

from __future__ import annotations

from graphql_service import migrations
from graphql_service.db import Database
from graphql_service.settings import Settings


def test_a_second_run_applies_nothing(settings: Settings, database: Database) -> None:
    assert migrations.apply(database, settings) == []


def test_every_file_was_recorded(settings: Settings, database: Database) -> None:
    rows = database.execute_sync(f"SELECT name FROM {settings.keyspace}.schema_migrations")

    assert sorted(r["name"] for r in rows) == [m.name for m in migrations.load(settings)]


def test_a_fresh_keyspace_gets_every_table(settings: Settings, database: Database) -> None:
    scratch = settings.with_overrides(keyspace=settings.keyspace + "_scratch")
    try:
        applied = migrations.apply(database, scratch)
        tables = database.execute_sync(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (scratch.keyspace,)
        )
    finally:
        migrations.drop_keyspace(database, scratch.keyspace)

    assert applied == [m.name for m in migrations.load(scratch)]
    assert {"session_halves_by_id", "completed_sessions_by_player", "schema_migrations"} <= {
        t["table_name"] for t in tables
    }


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
