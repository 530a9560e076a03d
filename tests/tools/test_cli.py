"""The command line: every operator mistake is one line naming the fix (the traceback only
with --debug), and `--help` teaches every command and option, defaults and variables."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import graphql_service
from graphql_service.settings import Settings, default_text
from graphql_service.store import backends
from graphql_service.tools.cli import build_parser
from graphql_service.tools.options import overrides, variable

ALL_MIGRATIONS = (
    "001_keyspace, 003_completed_sessions, 004_session_starts, 005_session_events, 006_session_start_times, "
    "007_start_rollups, 008_sessions_by_player"
)
MIGRATE = "run `player-session-service migrate` (or `make migrate`)"


def _cli(*arguments: str, settings: Settings | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {key: value for key, value in os.environ.items() if key not in {"LOG_LEVEL", "CQL_DIR"}}
    if settings is not None:
        full_env["CASSANDRA_DRIVER"] = settings.driver
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "graphql_service", *arguments], env=full_env, capture_output=True, text=True, timeout=120
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The whole of stderr when it is one `error:` line; fails otherwise."""
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line.removeprefix("error: ")


def _command(name: str, tmp_path: Path) -> list[str]:
    if name == "import":
        events = tmp_path / "events.jsonl"
        events.write_text("")
        return ["import", str(events)]
    return [name]


def _run_cql(settings: Settings, *statements: str) -> None:
    async def run() -> None:
        db = await backends.connect(settings)
        try:
            for statement in statements:
                await db.execute_schema(statement)
        finally:
            await db.close()

    asyncio.run(run())


@pytest.fixture
def scratch(settings: Settings, cassandra: None) -> Iterator[Settings]:
    """A keyspace of the test's own, dropped at the end."""
    scratch = settings.with_overrides(keyspace=f"{settings.keyspace}_cli")
    yield scratch
    _run_cql(scratch, f"DROP KEYSPACE IF EXISTS {scratch.keyspace}")


@pytest.fixture
def closed_port() -> Iterator[int]:
    # Bound but not listening: a connection to it is refused for as long as we hold it.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


# ---------------------------------------------------------------------------------------
# One line for every operator mistake


@pytest.mark.parametrize("command", ["serve", "import"])
def test_an_unmigrated_keyspace_is_one_line_naming_migrate(
    settings: Settings, cassandra: None, command: str, tmp_path: Path
) -> None:
    done = _cli(*_command(command, tmp_path), settings=settings, CASSANDRA_KEYSPACE="never_migrated_here")

    assert done.returncode == 2
    assert _one_error_line(done) == (
        f"keyspace 'never_migrated_here' is missing migrations {ALL_MIGRATIONS}: {MIGRATE} first"
    )


@pytest.mark.parametrize("command", ["serve", "import"])
def test_a_keyspace_that_migrate_did_not_set_up_is_one_line_naming_the_setting(
    scratch: Settings, command: str, tmp_path: Path
) -> None:
    _run_cql(
        scratch,
        f"CREATE KEYSPACE {scratch.keyspace} WITH replication = {scratch.replication}",
        f"CREATE TABLE {scratch.keyspace}.another_apps_data (id int PRIMARY KEY)",
    )

    done = _cli(*_command(command, tmp_path), settings=scratch, CASSANDRA_KEYSPACE=scratch.keyspace)

    assert _one_error_line(done) == (
        f"keyspace '{scratch.keyspace}' was not set up by `migrate` (it has tables another_apps_data but no "
        f"schema_migrations): check CASSANDRA_KEYSPACE, or {MIGRATE} to add this service's tables to it"
    )


def test_a_table_lost_since_migrating_is_one_line_and_migrate_creates_it_again(
    scratch: Settings, tmp_path: Path
) -> None:
    assert _cli("migrate", settings=scratch, CASSANDRA_KEYSPACE=scratch.keyspace).returncode == 0
    _run_cql(scratch, f"DROP TABLE {scratch.keyspace}.completed_sessions_by_player")

    refused = [
        _cli(*_command(c, tmp_path), settings=scratch, CASSANDRA_KEYSPACE=scratch.keyspace) for c in ("serve", "import")
    ]
    migrated = _cli("migrate", settings=scratch, CASSANDRA_KEYSPACE=scratch.keyspace)
    imported = _cli(
        *_command("import", tmp_path), "--no-progress", settings=scratch, CASSANDRA_KEYSPACE=scratch.keyspace
    )

    for done in refused:
        assert _one_error_line(done) == (
            f"keyspace '{scratch.keyspace}' has lost table completed_sessions_by_player since it was migrated: "
            f"{MIGRATE} to create it again"
        )
    assert (migrated.returncode, migrated.stdout.strip()) == (
        0,
        f"keyspace {scratch.keyspace}: applied 003_completed_sessions",
    )
    assert imported.returncode == 0, imported.stderr


@pytest.mark.parametrize("command", ["serve", "migrate", "import"])
def test_a_node_that_is_down_is_one_line(settings: Settings, closed_port: int, command: str, tmp_path: Path) -> None:
    done = _cli(
        *_command(command, tmp_path), settings=settings, CASSANDRA_PORT=str(closed_port), CASSANDRA_CONNECT_TIMEOUT="5"
    )

    assert _one_error_line(done).startswith(f"Cassandra at 127.0.0.1:{closed_port} is unreachable: ")


def test_migrating_a_keyspace_cassandra_will_not_change_is_one_line_naming_the_setting(
    settings: Settings, cassandra: None
) -> None:
    done = _cli("migrate", settings=settings, CASSANDRA_KEYSPACE="system_auth")

    line = _one_error_line(done)
    assert line.startswith("Cassandra refused to set up keyspace 'system_auth' (")
    assert line.endswith(
        "check CASSANDRA_KEYSPACE, and that CASSANDRA_USERNAME may create keyspaces and tables "
        "(docs/operations.md, Running against a real cluster)"
    )


def test_loadgen_without_a_service_is_one_line(closed_port: int) -> None:
    done = _cli("loadgen", "--url", f"http://127.0.0.1:{closed_port}", "--duration", "1", "--no-progress")

    assert _one_error_line(done).startswith(f"no service answers at http://127.0.0.1:{closed_port}: ")


@pytest.mark.parametrize(
    ("arguments", "env"),
    [(["--debug", "serve"], {}), (["serve", "--debug"], {}), (["serve"], {"LOG_LEVEL": "debug"})],
    ids=["--debug first", "--debug after the command", "LOG_LEVEL=DEBUG"],
)
def test_debug_shows_the_traceback_behind_the_line(
    settings: Settings, cassandra: None, arguments: list[str], env: dict[str, str]
) -> None:
    done = _cli(*arguments, settings=settings, CASSANDRA_KEYSPACE="never_migrated_here", **env)

    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    # (At DEBUG the driver goes on logging while it shuts down.)
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert line.startswith("error: keyspace 'never_migrated_here' is missing")


# ---------------------------------------------------------------------------------------
# --help, --version, and options that stand for settings


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _summaries(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {choice.dest: choice.help for choice in action._choices_actions}


def test_every_command_and_option_is_described() -> None:
    parser = build_parser(None, prog="player-session-service")

    assert all(_summaries(parser).values())
    for name, command in _subparsers(parser).items():
        assert command.description, name
        for action in command._actions:
            assert action.help and action.help != argparse.SUPPRESS, f"{name} {action.option_strings or action.dest}"


def test_every_option_with_a_default_says_what_it_is() -> None:
    for name, command in _subparsers(build_parser(None)).items():
        for action in command._actions:
            if action.option_strings and action.nargs != 0 and action.default is not None:
                assert "default" in (action.help or ""), f"{name} {action.option_strings}"


def _setting_options(command: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The command's options that stand for a setting, by the variable they override."""
    return {a.dest.removeprefix("setting:"): a for a in command._actions if a.dest.startswith("setting:")}


def test_options_that_stand_for_a_setting_name_its_variable_and_default() -> None:
    commands = _subparsers(build_parser(None))

    serve = _setting_options(commands["serve"])
    assert {env: action.option_strings for env, action in serve.items()} == {
        "HOST": ["--host"],
        "PORT": ["--port"],
        "WEB_CONCURRENCY": ["--workers"],
        "CASSANDRA_KEYSPACE": ["--keyspace"],
    }
    for command in commands.values():
        for env, action in _setting_options(command).items():
            default = default_text(variable(env)[1]).strip("`")
            assert (action.help or "").endswith(f"(overrides {env}; default {default})"), action.help


def test_each_command_help_lists_the_variables_it_reads_with_their_defaults() -> None:
    done = _cli("migrate", "--help")

    assert done.returncode == 0
    for env in ("CASSANDRA_CONTACT_POINTS", "CASSANDRA_KEYSPACE", "CASSANDRA_REPLICATION", "CQL_DIR"):
        assert f"  {env} (default " in done.stdout
    assert "  CASSANDRA_PORT (default 9042): CQL port" in done.stdout
    assert "--keyspace NAME" in done.stdout


def test_setting_options_are_handed_on_as_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser(["serve"]).parse_args(["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "2"])

    assert overrides(args) == {"HOST": "0.0.0.0", "PORT": "9000", "WEB_CONCURRENCY": "2"}
    for env, value in overrides(args).items():
        monkeypatch.setenv(env, value)
    settings = Settings.from_env()
    assert (settings.host, settings.http_port, settings.workers) == ("0.0.0.0", 9000, 2)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--port", "0", "must be between 1 and 65535, got 0"), ("--workers", "many", "must be an integer, got 'many'")],
)
def test_a_bad_setting_option_is_a_usage_error_naming_the_option(option: str, value: str, message: str) -> None:
    done = _cli("serve", option, value)

    assert done.returncode == 2
    assert (
        done.stderr.strip().splitlines()[-1] == f"python -m graphql_service serve: error: argument {option}: {message}"
    )


def test_version_comes_from_the_package_metadata_under_the_name_it_was_run_as() -> None:
    installed = Path(sys.executable).parent / "player-session-service"

    as_module = _cli("--version")
    as_script = subprocess.run([str(installed), "--version"], capture_output=True, text=True, timeout=60)

    assert as_module.stdout.strip() == f"python -m graphql_service {graphql_service.__version__}"
    assert as_script.stdout.strip() == f"player-session-service {graphql_service.__version__}"


def test_usage_names_the_program_as_it_was_run() -> None:
    installed = Path(sys.executable).parent / "player-session-service"

    as_module = _cli("serve", "--help")
    as_script = subprocess.run([str(installed), "serve", "--help"], capture_output=True, text=True, timeout=60)

    assert as_module.stdout.startswith("usage: python -m graphql_service serve ")
    assert as_script.stdout.startswith("usage: player-session-service serve ")


def test_loadgen_without_the_tools_extra_is_one_line_naming_it() -> None:
    # httpx and rich are the `tools` extra, not runtime dependencies: hide httpx.
    code = "import sys; sys.modules['httpx'] = None; from graphql_service.tools.cli import main; main(['loadgen'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: loadgen needs httpx, from the tools extra: pip install 'player-session-service[tools]'"
    )
