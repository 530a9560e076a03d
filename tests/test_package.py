"""The project as a Python package: the wheel works outside the checkout, the lock file is
what pyproject.toml asks for, and the licence is in place.

The wheel is built offline (the build backend comes from the test extra) and installed
into a fresh virtual environment; that environment sees the test environment's
dependencies through a `.pth` file instead of downloading them again, while the package
itself, its CQL files and its console script come from the wheel alone. The installed
command then migrates a scratch keyspace and serves from a directory that is not the
checkout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

import graphql_service
from graphql_service.settings import Settings
from graphql_service.tools.readiness import free_port, running

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PINNED = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>\S+)(?: ; (?P<marker>[^\\]+?))? \\$")


def _locked() -> dict[str, list[str]]:
    """Each name in requirements.lock with its pinned versions (one per marker branch)."""
    pins: dict[str, list[str]] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := PINNED.match(line):
            pins.setdefault(_normal(match["name"]), []).append(match["version"])
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Installed:
    venv: Path
    command: Path
    workdir: Path

    def env(self, settings: Settings, **extra: str) -> dict[str, str]:
        # Nothing that points back into the checkout or the test environment.
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "CQL_DIR"}}
        return {**env, "CASSANDRA_DRIVER": settings.driver, **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("package")
    dist = base / "dist"
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *offline, "--wheel-dir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The dependencies, from the test environment (a plain path entry: its editable
    # install of this project is not activated, so the wheel's copy is the one imported).
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "test-environment.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    offline_install = [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)]
    subprocess.run(offline_install, check=True)
    workdir = base / "elsewhere"
    workdir.mkdir()
    return Installed(venv=venv, command=venv / "bin" / "player-session-service", workdir=workdir)


def test_the_wheel_carries_the_migrations_the_licence_and_the_command(installed: Installed) -> None:
    (wheel,) = installed.venv.parent.joinpath("dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    cql = sorted(path.name for path in (ROOT / "cql").glob("*.cql"))
    assert cql and {f"graphql_service/store/cql/{name}" for name in cql} <= names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert installed.command.exists()


def test_the_installed_package_is_the_wheels_not_the_checkouts(installed: Installed, settings: Settings) -> None:
    probe = "import graphql_service.settings as s; print(s.__file__); print(s.Settings.from_env().cql_dir)"
    done = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", probe],
        cwd=installed.workdir,
        env=installed.env(settings),
        capture_output=True,
        text=True,
        check=True,
    )
    module, cql_dir = done.stdout.splitlines()
    assert Path(module).is_relative_to(installed.venv)
    assert Path(cql_dir).is_relative_to(installed.venv)


def test_the_installed_command_migrates_a_keyspace_from_any_directory(
    installed: Installed, settings: Settings, cassandra: None
) -> None:
    keyspace = f"{settings.keyspace}_wheel"
    env = installed.env(settings, CASSANDRA_KEYSPACE=keyspace)
    try:
        migrated = subprocess.run(
            [str(installed.command), "migrate"],
            cwd=installed.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrated.returncode == 0, migrated.stderr
        names = ", ".join(sorted(path.stem for path in (ROOT / "cql").glob("*.cql")))
        assert migrated.stdout.strip() == f"keyspace {keyspace}: applied {names}"
        served = _serve_briefly(installed, env)
    finally:
        dropped = subprocess.run(
            [sys.executable, "-c", _DROP],
            env={**env, "CASSANDRA_KEYSPACE": keyspace},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert dropped.returncode == 0, dropped.stderr
    ready, dashboard = served
    assert ready["keyspace"] == keyspace
    # Package data besides the CQL files: the dashboard's page and its vendored script.
    assert dashboard == 200


# Drops the keyspace named by CASSANDRA_KEYSPACE (from the test environment's code).
_DROP = """
import asyncio
from graphql_service.settings import Settings
from graphql_service.store import backends, migrations

async def drop() -> None:
    settings = Settings.from_env()
    db = await backends.connect(settings)
    try:
        await migrations.drop_keyspace(db, settings.keyspace)
    finally:
        await db.close()

asyncio.run(drop())
"""


def _serve_briefly(installed: Installed, env: dict[str, str]) -> tuple[dict[str, object], int]:
    """`player-session-service serve --port N` from outside the checkout: /readyz and the
    dashboard's script once it is ready, then Ctrl-C."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = installed.workdir / f"serve-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(installed.command), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=installed.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    with running(process, base, log_path):
        ready = httpx.get(f"{base}/readyz", timeout=5)
        script = httpx.get(f"{base}/dashboard/static/dashboard.js", timeout=5)
        return ready.json(), script.status_code


def test_the_lock_pins_every_dependency_within_pyproject_ranges() -> None:
    locked = _locked()
    for text in PROJECT["dependencies"]:
        requirement = Requirement(text)
        versions = locked.get(_normal(requirement.name))
        assert versions, f"{requirement.name} is not in requirements.lock: run `make lock`"
        for version in versions:
            pinned = f"{requirement.name}=={version}"
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements.lock pins {pinned}, outside {requirement.specifier}: run `make lock`"
            )


def test_every_locked_pin_carries_hashes() -> None:
    text = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2].strip())
    assert entries
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_the_lock_is_resolved_for_the_images_python() -> None:
    # `make lock` resolves for the interpreter of the Dockerfile's base image.
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    [locked_for] = re.findall(r"--python-version (\d+\.\d+)", makefile)
    images = set(re.findall(r"^FROM python:(\d+\.\d+)-", dockerfile, flags=re.MULTILINE))
    assert images == {locked_for}


def test_the_licence_is_the_apache_license_pyproject_names() -> None:
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert {"Source", "Issues", "Changelog"} <= set(PROJECT["urls"])


def test_one_copy_of_each_migration_reached_through_the_top_level_cql_directory() -> None:
    package_cql = ROOT / "graphql_service" / "store" / "cql"
    assert (ROOT / "cql").is_symlink() and (ROOT / "cql").resolve() == package_cql
    assert Settings().cql_dir == package_cql


def test_the_package_version_is_the_metadata_version() -> None:
    from importlib.metadata import version

    assert version("player-session-service") == graphql_service.__version__ == PROJECT["version"]
