"""The Dockerfile and docker-compose.yml, checked without a Docker engine.

hadolint lints the Dockerfile and Docker Compose itself validates and normalises the compose
file (both ship as binaries in PyPI wheels, see pyproject.toml). The image's install and start
commands are compared with the ones `make test` exercises: the Makefile's pip install and
the command the `live_server` fixture runs.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphql_service.settings import Settings
from graphql_service.tools.devnode import NodeSettings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Variables the image may set besides the service's own: the interpreter's and pip's.
RUNTIME_VARIABLES = {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {BIN}: run `make setup` (it comes with the test extra)")
    return path


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each Dockerfile instruction, continuation lines joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        found.append((keyword.upper(), " ".join(arguments.split())))
        pending = ""
    return found


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, arguments in _instructions():
        if keyword == "FROM":
            stages.append([])
        stages[-1].append((keyword, arguments))
    return stages


def _only(stage: list[tuple[str, str]], keyword: str) -> str:
    matches = [arguments for name, arguments in stage if name == keyword]
    assert len(matches) == 1, f"expected one {keyword}, found {matches}"
    return matches[0]


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    return dict(item.split("=", 1) for name, arguments in stage if name == "ENV" for item in shlex.split(arguments))


def _copies(stage: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(source, destination) of the stage's COPY instructions from the build context."""
    pairs = []
    for name, arguments in stage:
        words = arguments.split()
        if name == "COPY" and not any(word.startswith("--from") for word in words):
            pairs.extend((source, words[-1]) for source in words[:-1])
    return pairs


def _settings_variables() -> set[str]:
    """Every environment variable Settings.from_env reads (the only reader of os.environ)."""
    return {*Settings.variables(), *NodeSettings.variables(), "XDG_CACHE_HOME"}


def _live_server_command() -> list[str]:
    """The arguments after the interpreter in the Popen call of tests/servers.py's `served`,
    which the live_server fixture (and every other server-process test) uses."""
    conftest = ast.parse((ROOT / "tests" / "conftest.py").read_text())
    fixture = next(n for n in ast.walk(conftest) if isinstance(n, ast.FunctionDef) and n.name == "live_server")
    assert any(isinstance(n, ast.Call) and ast.unparse(n.func) == "served" for n in ast.walk(fixture))
    tree = ast.parse((ROOT / "tests" / "servers.py").read_text())
    fixture = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "served")
    call = next(
        n
        for n in ast.walk(fixture)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "Popen"
    )
    command = call.args[0]
    assert isinstance(command, ast.List)
    assert ast.unparse(command.elts[0]) == "sys.executable"
    return [ast.literal_eval(element) for element in command.elts[1:]]


def _makefile_install() -> list[str]:
    """The Makefile's pip install of this repository (not of pip itself), as words."""
    commands = [
        shlex.split(line.strip())
        for line in (ROOT / "Makefile").read_text().splitlines()
        if line.startswith("\t") and " -m pip install " in line
    ]
    installs = [words for words in commands if any(word == "." or word.startswith(".[") for word in words)]
    assert len(installs) == 1, installs
    return installs[0]


def _dockerfile_installs() -> list[list[str]]:
    """Each `pip install` command of the build stage, as words (`&&` chains split apart)."""
    commands = [
        shlex.split(command) for name, arguments in _stages()[0] if name == "RUN" for command in arguments.split("&&")
    ]
    return [words for words in commands if words[1:4] == ["-m", "pip", "install"]]


def _dockerignored(name: str) -> bool:
    """Docker's rule for a top-level path: the last matching pattern wins, `!` re-includes."""
    excluded = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if pattern and not pattern.startswith("#") and fnmatch.fnmatchcase(name, pattern.lstrip("!")):
            excluded = not pattern.startswith("!")
    return excluded


@pytest.fixture
def closed_port() -> Iterator[int]:
    # Bound but not listening: a connection to it is refused for as long as we hold it.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as Docker Compose validates and normalises it (anchors merged,
    short syntax expanded). A clean environment keeps the caller's COMPOSE_* out of it."""
    result = subprocess.run(
        [str(_tool("docker-compose")), "--file", "docker-compose.yml", "config", "--format", "json"],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"Docker Compose rejects docker-compose.yml:\n{result.stderr}"
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(_tool("hadolint")), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def test_the_image_is_a_slim_multi_stage_build_that_runs_as_a_non_root_user() -> None:
    stages = _stages()
    assert len(stages) >= 2
    for stage in stages:
        assert re.fullmatch(r"python:3\.\d+-slim\S*( AS \w+)?", stage[0][1]), stage[0][1]
    users = [arguments for name, arguments in stages[-1] if name == "USER"]
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_the_image_starts_the_server_with_the_live_servers_command() -> None:
    final = _stages()[-1]
    assert not [arguments for name, arguments in final if name == "ENTRYPOINT"]
    assert json.loads(_only(final, "CMD")) == ["python", *_live_server_command()]


def test_the_image_installs_the_locked_dependencies_then_the_package_as_the_makefile_does() -> None:
    make = _makefile_install()
    lock, package = _dockerfile_installs()
    # First every dependency, exactly as pinned and hashed in the lock...
    assert lock[1:] == ["-m", "pip", "install", "-q", "--require-hashes", "-r", "requirements.lock"], lock
    assert ("requirements.lock", "./") in _copies(_stages()[0])
    # ...then the Makefile's install minus what only development needs (`-e`, the test
    # extra), without resolving the dependencies again.
    expected = [word.replace("[test]", "") for word in make[1:] if word != "-e"]
    assert package[1:] == [*expected[:-1], "--no-deps", expected[-1]], f"Makefile: {make}\nDockerfile: {package}"
    assert lock[0] == package[0]
    # The image's `python` (CMD, HEALTHCHECK, compose's migrate) is the venv's interpreter.
    venv_bin = str(Path(package[0]).parent)
    assert _env(_stages()[-1])["PATH"].split(":")[0] == venv_bin
    assert f"--from=build {Path(venv_bin).parent} {Path(venv_bin).parent}" in [
        arguments for name, arguments in _stages()[-1] if name == "COPY"
    ]


def test_the_wheel_the_image_installs_builds_offline_from_what_it_copies(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    for source, _ in _copies(_stages()[0]):
        assert not _dockerignored(source), f"{source} is copied but .dockerignore leaves it out"
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / source, context / source)
    # Offline: the build backend comes from the test extra, nothing from an index.
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *offline, "--wheel-dir", str(tmp_path / "dist"), str(context)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    # Every file of the package must reach the image, not only the .py files.
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "graphql_service").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert sources - packaged == set()


def test_the_image_reads_its_configuration_only_from_the_environment() -> None:
    final = _stages()[-1]
    env = _env(final)
    assert set(env) - RUNTIME_VARIABLES <= _settings_variables()
    assert not [arguments for name, arguments in final if name in {"ARG", "VOLUME"}]
    settings = Settings.from_env(env)
    assert settings.host == "0.0.0.0"
    assert _only(final, "EXPOSE") == str(settings.http_port)
    # The migrations are package data (tests/test_package.py migrates from an installed wheel).
    assert "CQL_DIR" not in env
    assert not [source for source, _ in _copies(final) if source.startswith("cql")]


def test_the_image_healthcheck_passes_on_a_ready_server_and_fails_otherwise(live_server: str, closed_port: int) -> None:
    command = _only(_stages()[-1], "HEALTHCHECK").partition(" CMD ")[2]
    probe = json.loads(command)
    assert probe[0] == "python" and "/readyz" in " ".join(probe)
    run = [sys.executable, *probe[1:]]
    ready = subprocess.run(run, env={**os.environ, "PORT": live_server.rsplit(":", 1)[1]}, capture_output=True)
    down = subprocess.run(run, env={**os.environ, "PORT": str(closed_port)}, capture_output=True)
    assert ready.returncode == 0, ready.stderr.decode()
    assert down.returncode != 0


def test_compose_runs_the_official_cassandra_5_0_image_with_a_healthcheck(compose: dict[str, Any]) -> None:
    cassandra = compose["services"]["cassandra"]
    # An official image has no registry or namespace in front of its name.
    assert re.fullmatch(r"(docker\.io/library/)?cassandra:5\.0(\.\d+)?", cassandra["image"]), cassandra["image"]
    assert cassandra["healthcheck"]["test"]
    assert not cassandra["healthcheck"].get("disable")


def test_compose_migrates_once_cassandra_is_healthy(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["python", "-m", "graphql_service", "migrate"]
    assert migrate["depends_on"]["cassandra"]["condition"] == "service_healthy"
    assert migrate.get("restart", "no") == "no"


def test_compose_starts_the_api_after_the_migration_succeeded(compose: dict[str, Any]) -> None:
    migrate, api = compose["services"]["migrate"], compose["services"]["api"]
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # Both run this repository's image; the API with the image's own CMD.
    for service in (migrate, api):
        assert Path(service["build"]["context"]) == ROOT
        assert service["build"].get("dockerfile", "Dockerfile") == "Dockerfile"
    assert api.get("command") is None and api.get("entrypoint") is None


def test_compose_configures_the_app_only_by_environment(compose: dict[str, Any], tmp_path: Path) -> None:
    image_env = _env(_stages()[-1])
    services = compose["services"]
    settings = {}
    for name in ("migrate", "api"):
        service = services[name]
        assert not {"volumes", "configs", "secrets", "entrypoint"} & {k for k, v in service.items() if v}, name
        assert set(service["environment"]) <= _settings_variables(), name
        env = {**image_env, **service["environment"]}
        if "PROMETHEUS_MULTIPROC_DIR" in env:
            # A tmpfs inside the container (checked here); a scratch directory on this host.
            mounts = [m["target"] if isinstance(m, dict) else m.split(":")[0] for m in service.get("tmpfs", [])]
            assert env["PROMETHEUS_MULTIPROC_DIR"] in mounts, name
            env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
        settings[name] = Settings.from_env(env)
        assert set(settings[name].contact_points) <= set(services), f"{name} must reach Cassandra by service name"
    # The migration prepares exactly the keyspace the API serves.
    for field in ("contact_points", "port", "local_dc", "keyspace", "replication"):
        assert getattr(settings["migrate"], field) == getattr(settings["api"], field), field
    assert [port["target"] for port in services["api"]["ports"]] == [settings["api"].http_port]
