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

from ..domain.errors import ConfigError
from ..settings import Settings
from .backends import Backend

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
    applied = []
    for migration in migrations:
        if migration.name in done:
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


async def applied_migrations(db: Backend, keyspace: str) -> set[str]:
    exists = await db.execute_schema(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = 'schema_migrations'",
        (keyspace,),
    )
    if not exists:
        return set()
    return {row["name"] for row in await db.execute_schema(f"SELECT name FROM {keyspace}.schema_migrations")}


async def pending_migrations(db: Backend, settings: Settings) -> list[str]:
    """Names of the migration files not yet applied to the keyspace."""
    done = await applied_migrations(db, settings.keyspace)
    return [m.name for m in load(settings) if m.name not in done]


async def check_migrated(db: Backend, settings: Settings) -> None:
    """ConfigError naming the fix when the keyspace lacks a migration (`serve`, `import`)."""
    missing = await pending_migrations(db, settings)
    if missing:
        raise ConfigError(
            f"keyspace {settings.keyspace!r} is missing migrations {', '.join(missing)}: "
            "run `player-session-service migrate` (or `make migrate`) first"
        )


async def drop_keyspace(db: Backend, keyspace: str) -> None:
    await db.execute_schema(f"DROP KEYSPACE IF EXISTS {keyspace}")
