"""The Postman collection in postman/ runs green with newman against the real server."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from graphql import FieldNode, OperationDefinitionNode, build_schema, parse

from graphql_service.api.openapi import DOCUMENT

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schema.graphql"
COLLECTION = ROOT / "postman" / "player-session-service.postman_collection.json"
ENVIRONMENT = ROOT / "postman" / "local.postman_environment.json"
NEWMAN = ROOT / "node_modules" / ".bin" / "newman"


def _requests(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in items:
        found.extend(_requests(item["item"]) if "item" in item else [item])
    return found


def test_the_postman_collection_passes_against_the_live_server_run_after_run(live_server: str, tmp_path: Path) -> None:
    if not NEWMAN.exists():
        pytest.fail(
            f"newman is not installed ({NEWMAN.relative_to(ROOT)} is missing): run `make setup` (it runs `npm ci`)"
        )
    report = tmp_path / "newman.json"
    # Two iterations: the pre-request scripts must make fresh ids, or the second run's
    # "exactly the session just posted" checks would see two sessions.
    command = [str(NEWMAN), "run", str(COLLECTION), "--environment", str(ENVIRONMENT)]
    command += ["--env-var", f"baseUrl={live_server}", "--iteration-count", "2", "--color", "off"]
    command += ["--reporters", "cli,json", "--reporter-json-export", str(report)]
    # A guard against a hung server, not a timing assertion.
    command += ["--timeout-request", "30000"]
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"newman failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    # Exit 0 alone would also pass a collection whose requests asserted nothing.
    run = json.loads(report.read_text())["run"]
    assert run["stats"]["requests"]["total"] == 2 * len(_requests(json.loads(COLLECTION.read_text())["item"]))
    assert all(execution.get("assertions") for execution in run["executions"]), result.stdout


def test_every_postman_request_targets_the_environments_base_url() -> None:
    # The test (and a user's environment) only point the collection elsewhere through baseUrl.
    requests = _requests(json.loads(COLLECTION.read_text())["item"])
    assert requests
    for item in requests:
        assert item["request"]["url"]["raw"].startswith("{{baseUrl}}/"), item["name"]


def test_newman_is_pinned_to_one_exact_version() -> None:
    declared = json.loads((ROOT / "package.json").read_text())["devDependencies"]["newman"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/newman"]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", declared), f"pin newman exactly in package.json, not {declared!r}"
    assert locked == declared


def test_the_collection_calls_every_rest_operation_of_the_openapi_document() -> None:
    called = set()
    for item in _requests(json.loads(COLLECTION.read_text())["item"]):
        path = item["request"]["url"]["raw"].removeprefix("{{baseUrl}}").split("?")[0]
        called.add((item["request"]["method"].lower(), path))
    for path, operations in DOCUMENT["paths"].items():
        # A path parameter ({player_id}) is a collection variable ({{restPlayerId}}) in the collection.
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$")
        for method in operations:
            assert any(m == method and pattern.match(p) for m, p in called), f"no request for {method.upper()} {path}"


def test_the_collection_runs_every_graphql_query_and_mutation() -> None:
    # Subscriptions are websocket-only (graphql-transport-ws), which newman cannot speak.
    schema = build_schema(SCHEMA.read_text())
    assert schema.query_type is not None and schema.mutation_type is not None
    player = schema.get_type("Player")
    wanted = {f"Query.{name}" for name in schema.query_type.fields} | {
        f"Mutation.{name}" for name in schema.mutation_type.fields
    }
    wanted |= {f"Player.{name}" for name in getattr(player, "fields", {}) if name != "id"}

    run = set()
    for item in _requests(json.loads(COLLECTION.read_text())["item"]):
        body = item["request"].get("body", {})
        if body.get("mode") != "graphql":
            continue
        for operation in parse(body["graphql"]["query"]).definitions:
            assert isinstance(operation, OperationDefinitionNode)
            root = "Mutation" if operation.operation.value == "mutation" else "Query"
            for field in operation.selection_set.selections:
                assert isinstance(field, FieldNode)
                run.add(f"{root}.{field.name.value}")
                if field.name.value == "player" and field.selection_set:
                    run |= {
                        f"Player.{f.name.value}" for f in field.selection_set.selections if isinstance(f, FieldNode)
                    }
    assert wanted - run == set()
