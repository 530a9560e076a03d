"""Applies ``cql/NNN_*.cql`` in order, each at most once, every statement idempotent.

Files hold ``{keyspace}`` and ``{replication}`` placeholders filled from settings, so the
same files serve the local node (SimpleStrategy RF 1) and a real cluster
(NetworkTopologyStrategy). Applied files are recorded in ``schema_migrations``; because
each statement is also ``IF NOT EXISTS``, a migration interrupted half-way can simply be
run again.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from .db import Database
from .settings import Settings

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^\d{3}_[a-z0-9_]+\.cql$")


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]


def split_statements(text: str) -> list[str]:
    """Split a CQL file on ';' after dropping `--` comments (our files keep ';' out of strings)."""
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def load(settings: Settings, directory: Path | None = None) -> list[Migration]:
    directory = directory or settings.cql_dir
    if not directory.is_dir():
        raise FileNotFoundError(f"no CQL directory at {directory} (set CQL_DIR)")
    migrations = []
    for path in sorted(directory.iterdir()):
        if not _FILE_NAME.match(path.name):
            continue
        text = path.read_text().replace("{keyspace}", settings.keyspace)
        text = text.replace("{replication}", settings.replication)
        migrations.append(Migration(name=path.stem, statements=tuple(split_statements(text))))
    return migrations


def apply(db: Database, settings: Settings, directory: Path | None = None) -> list[str]:
    """Blocking. Returns the names of the migrations applied by this call."""
    migrations = load(settings, directory)
    done = _applied(db, settings.keyspace)
    applied = []
    for migration in migrations:
        if migration.name in done:
            continue
        for statement in migration.statements:
            db.execute_sync(statement)
        db.execute_sync(
            f"INSERT INTO {settings.keyspace}.schema_migrations (name, applied_at) VALUES (%s, toTimestamp(now()))",
            (migration.name,),
        )
        log.info("applied migration %s", migration.name)
        applied.append(migration.name)
    return applied


def _applied(db: Database, keyspace: str) -> set[str]:
    exists = db.execute_sync(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s AND table_name = 'schema_migrations'",
        (keyspace,),
    )
    if not exists:
        return set()
    return {row["name"] for row in db.execute_sync(f"SELECT name FROM {keyspace}.schema_migrations")}


def drop_keyspace(db: Database, keyspace: str) -> None:
    db.execute_sync(f"DROP KEYSPACE IF EXISTS {keyspace}")
