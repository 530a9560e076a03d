"""The Postman collection in postman/ runs green with newman against the real server."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
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
