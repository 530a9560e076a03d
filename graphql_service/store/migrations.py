"""Applies ``cql/NNN_*.cql`` in order, each at most once, every statement idempotent.

Files hold ``{keyspace}`` and ``{replication}`` placeholders filled from settings, so the
same files serve the local node (SimpleStrategy RF 1) and a real cluster
(NetworkTopologyStrategy). Applied files are recorded in ``schema_migrations``; because
each statement is also ``IF NOT EXISTS``, a migration interrupted half-way can simply be
run again, and so is a recorded migration whose table has gone missing since.

The files live in the package (``store/cql/``, package data, so an installed wheel migrates
from any directory); the checkout's top-level ``cql/`` is a symbolic link to them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import ConfigError
from ..settings import Settings
from .backends import Backend

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^\d{3}_[a-z0-9_]+\.cql$")
_CREATES_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS \w+\.(\w+)", re.IGNORECASE)
MIGRATE_FIX = "run `player-session-service migrate` (or `make migrate`)"


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables this migration creates."""
        return tuple(match[1] for s in self.statements if (match := _CREATES_TABLE.match(s)))


def split_statements(text: str) -> list[str]:
    """Split a CQL file on ';' after dropping `--` comments (our files keep ';' out of strings)."""
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def load(settings: Settings, directory: Path | None = None) -> list[Migration]:
    directory = directory or settings.cql_dir
    if not directory.is_dir():
        raise ConfigError(f"no CQL directory at {directory} (set CQL_DIR)")
    migrations = []
    for path in sorted(directory.iterdir()):
        if not _FILE_NAME.match(path.name):
            continue
        text = path.read_text().replace("{keyspace}", settings.keyspace)
        text = text.replace("{replication}", settings.replication)
        migrations.append(Migration(name=path.stem, statements=tuple(split_statements(text))))
    return migrations


async def apply(db: Backend, settings: Settings, directory: Path | None = None) -> list[str]:
    """Returns the names of the migrations applied by this call."""
    migrations = load(settings, directory)
    done = await applied_migrations(db, settings.keyspace)
    tables = await existing_tables(db, settings.keyspace)
    applied = []
    for migration in migrations:
        if migration.name in done and set(migration.tables) <= tables:
            continue
        for statement in migration.statements:
            await db.execute_schema(statement)
        await db.execute_schema(
            f"INSERT INTO {settings.keyspace}.schema_migrations (name, applied_at) VALUES (?, toTimestamp(now()))",
            (migration.name,),
        )
        log.info("applied migration %s", migration.name)
        applied.append(migration.name)
    return applied


async def existing_tables(db: Backend, keyspace: str) -> set[str]:
    rows = await db.execute_schema(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
        (keyspace,),
    )
    return {row["table_name"] for row in rows}


async def applied_migrations(db: Backend, keyspace: str) -> set[str]:
    if "schema_migrations" not in await existing_tables(db, keyspace):
        return set()
    return {row["name"] for row in await db.execute_schema(f"SELECT name FROM {keyspace}.schema_migrations")}


async def pending_migrations(db: Backend, settings: Settings) -> list[str]:
    """Names of the migration files not yet applied to the keyspace."""
    done = await applied_migrations(db, settings.keyspace)
    return [m.name for m in load(settings) if m.name not in done]


async def check_migrated(db: Backend, settings: Settings) -> None:
    """ConfigError, one line naming the fix, unless the keyspace holds every migration and
    every table they create (`serve` and `import` check before they start)."""
    keyspace = settings.keyspace
    missing = await pending_migrations(db, settings)
    tables = await existing_tables(db, keyspace)
    if missing and tables and "schema_migrations" not in tables:
        # Not this service's keyspace (or one set up by hand): migrating it may be wrong.
        shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
        raise ConfigError(
            f"keyspace {keyspace!r} was not set up by `migrate` (it has tables {shown} but no schema_migrations): "
            f"check CASSANDRA_KEYSPACE, or {MIGRATE_FIX} to add this service's tables to it"
        )
    if missing:
        raise ConfigError(f"keyspace {keyspace!r} is missing migrations {', '.join(missing)}: {MIGRATE_FIX} first")
    lost = sorted({table for m in load(settings) for table in m.tables} - tables)
    if lost:
        raise ConfigError(
            f"keyspace {keyspace!r} has lost table{'s' if len(lost) > 1 else ''} {', '.join(lost)} "
            f"since it was migrated: {MIGRATE_FIX} to create {'them' if len(lost) > 1 else 'it'} again"
        )


async def drop_keyspace(db: Backend, keyspace: str) -> None:
    await db.execute_schema(f"DROP KEYSPACE IF EXISTS {keyspace}")
