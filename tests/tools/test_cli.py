"""The command line names the fix in one line when the keyspace is not migrated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphql_service.settings import Settings


@pytest.mark.parametrize("command", ["serve", "import"])
def test_an_unmigrated_keyspace_is_one_line_naming_migrate(
    settings: Settings, cassandra: None, command: str, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("")
    arguments = [command, str(events)] if command == "import" else [command]
    env = {**os.environ, "CASSANDRA_DRIVER": settings.driver, "CASSANDRA_KEYSPACE": "never_migrated_here"}

    done = subprocess.run(
        [sys.executable, "-m", "graphql_service", *arguments], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: keyspace 'never_migrated_here' is missing migrations "
        "001_keyspace, 003_completed_sessions, 004_session_starts, 005_session_events, 006_session_start_times, "
        "007_start_rollups: "
        "run `player-session-service migrate` (or `make migrate`) first"
    ]
    assert "Traceback" not in done.stderr
