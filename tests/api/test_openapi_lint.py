"""The OpenAPI document as third-party tools read it: Redocly's linter (its recommended rules)
finds no error in what the real server serves, and what those tools missed is there: the
servers, the open operations marked open, and GET /sessions' JSON body form."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from graphql_service.api.openapi import DOCUMENT

from .test_openapi import assert_documented, schema_validator

ROOT = Path(__file__).resolve().parents[2]
REDOCLY = ROOT / "node_modules" / ".bin" / "redocly"
OPEN = {("get", "/healthz"), ("get", "/readyz"), ("get", "/openapi.json")}


def test_redocly_finds_no_error_in_the_served_document(live_server: str) -> None:
    if not REDOCLY.exists():
        pytest.fail("@redocly/cli is not installed (node_modules/.bin/redocly is missing): run `make setup`")
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    # A guard against a hung tool, not a timing assertion.
    run = subprocess.run(
        [str(REDOCLY), "lint", f"{live_server}/openapi.json", "--format=json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(run.stdout)

    errors = [
        f"{p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}"
        for p in report["problems"]
        if p["severity"] == "error"
    ]
    assert (report["totals"]["errors"], errors) == (0, [])
    assert run.returncode == 0, run.stderr


def test_the_document_names_its_servers() -> None:
    urls = [server["url"] for server in DOCUMENT["servers"]]
    # First the server that serves the document, relative to it (also behind a proxy prefix).
    assert urls[0] == "."


def test_the_open_operations_say_they_need_no_key() -> None:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if (method, path) in OPEN:
                assert operation["security"] == [], f"{method.upper()} {path}"
            else:
                assert operation["security"] and operation["security"][0] == {}, f"{method.upper()} {path}"


@pytest.mark.anyio
async def test_the_get_sessions_json_body_form_is_described_and_served(client: httpx.AsyncClient) -> None:
    body_form = DOCUMENT["paths"]["/sessions"]["get"]["requestBody"]["content"]["application/json"]
    examples = [example["value"] for example in body_form["examples"].values()]

    for example in examples:
        assert schema_validator(body_form["schema"]).is_valid(example), example
        answer = await client.request("GET", "/sessions", json=example)
        assert answer.status_code == 200, answer.text
        assert answer.json()["player_id"] == example["player_id"]
        assert_documented("GET", "/sessions", answer)
    not_an_object = await client.request("GET", "/sessions", json=["alice"])
    assert not_an_object.status_code == 400
    assert_documented("GET", "/sessions", not_an_object)
