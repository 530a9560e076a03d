"""The package's layers: every import points down, and only the storage backends touch a driver.

app.py, tools/        may import anything
api/                  core, domain, store.backends (types), ops, settings
core/                 store, domain, settings
store/                domain, settings
domain/               settings (and settings only domain.errors)
ops/                  settings
consume/              core, domain, store, ops, settings (the Kafka consumer; only consume/kafka.py
                      imports the Kafka client)
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

PACKAGE = Path(__file__).resolve().parent.parent / "graphql_service"
LAYERS = {"domain": 0, "store": 1, "core": 2, "api": 3}
# What a layer (or a top-level module) may import besides itself, by first package part.
ALLOWED = {
    "domain": {"domain", "settings"},
    "store": {"store", "domain", "settings"},
    "core": {"core", "store", "domain", "settings"},
    "api": {"api", "core", "store", "domain", "ops", "settings"},
    "ops": {"ops", "settings"},
    "consume": {"consume", "core", "store", "domain", "ops", "settings"},
    "settings": {"domain"},
}
DRIVERS = {"cassandra", "acsylla"}


def _imports(path: Path) -> list[tuple[str, int]]:
    """(absolute module name, line) of every import in a module of the package."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((name, node.lineno))
    return found


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def test_every_import_of_our_own_code_points_down() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        part = _part(path)
        if part not in ALLOWED:
            continue  # app.py, __main__.py, tools/: the top, may import anything
        for name, line in _imports(path):
            if not name.startswith("graphql_service."):
                continue
            target = name.split(".")[1]
            if target not in ALLOWED[part]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
            if part == "api" and target == "store" and not name.startswith("graphql_service.store.backends"):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {name} (api sees only the backend types)")
            if part == "settings" and not name.startswith("graphql_service.domain.errors"):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    assert wrong == []


def test_only_the_storage_backends_import_a_driver() -> None:
    backends = PACKAGE / "store" / "backends"
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line} imports {name}"
        for path in PACKAGE.rglob("*.py")
        if backends not in path.parents
        for name, line in _imports(path)
        if name.split(".")[0] in DRIVERS
    ]
    assert offenders == []


def test_only_the_consumer_s_kafka_module_imports_the_kafka_client() -> None:
    kafka = PACKAGE / "consume" / "kafka.py"
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line} imports {name}"
        for path in PACKAGE.rglob("*.py")
        if path != kafka
        for name, line in _imports(path)
        if name.split(".")[0] in {"aiokafka", "confluent_kafka", "kafka"}
    ]
    assert offenders == []


def test_api_code_never_sees_cql() -> None:
    words = ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", "CREATE TABLE", " WHERE ")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "api").rglob("*.py")
        if any(w in path.read_text() for w in words)
    ]
    assert offenders == []


def test_serving_loads_no_command_line_tool() -> None:
    # `serve` must not pay for loadgen's HTTP client or the progress bars.
    code = (
        "import sys\n"
        "from graphql_service.tools.cli import build_parser\n"
        "build_parser(['serve'])\n"
        "import graphql_service.app\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'httpx', 'rich', 'aiokafka'} "
        "or m.startswith('graphql_service.tools.') "
        "and m not in {'graphql_service.tools.cli', 'graphql_service.tools.options'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_library_the_package_imports_is_declared() -> None:
    # A library that only arrives as another's dependency can vanish with that one's next
    # release (cross_web came with Strawberry): pyproject.toml names each one we import.
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    requirements = [*project["dependencies"], *(r for extra in extras for r in extra)]
    declared = {_normal(Requirement(r).name) for r in requirements}
    distributions = importlib.metadata.packages_distributions()
    undeclared = sorted(
        f"{path.relative_to(PACKAGE)}:{line} imports {name}"
        for path in PACKAGE.rglob("*.py")
        for name, line in _imports(path)
        if (top := name.split(".")[0]) in distributions
        and top != "graphql_service"
        and not declared & {_normal(d) for d in distributions[top]}
    )
    assert undeclared == []


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
