"""/graphql held to GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/):
graphql-http's own audit of the real server, every MUST, SHOULD and MAY, and each defect a
third-party client found, by name."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
AUDITS = ROOT / "tests" / "api" / "graphql_http_audits.mjs"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# What Apollo Client 4 sends.
APOLLO_ACCEPT = f"{GRAPHQL_RESPONSE},application/json;q=0.9"
SUBSCRIPTION = "subscription { sessionStartsByCountry(hours: 1) { country } }"
SUBMIT = "mutation { submitEvents(events: []) { accepted } }"


def test_graphql_http_audits_all_pass_against_the_real_server(live_server: str) -> None:
    if not (ROOT / "node_modules" / "graphql-http").exists():
        pytest.fail("graphql-http is not installed (node_modules/graphql-http is missing): run `make setup`")
    # A guard against a hung server, not a timing assertion.
    run = subprocess.run(
        ["node", str(AUDITS), f"{live_server}/graphql"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    audits: list[dict[str, Any]] = json.loads(run.stdout)

    assert len(audits) > 60  # all of them ran
    failed = [
        f"{a['id']} {a['status']} {a['name']}: {a['reason']} ({a['status_code']})"
        for a in audits
        if a["status"] != "ok"
    ]
    assert failed == []


@pytest.mark.parametrize("package", ["graphql-http", "@redocly/cli"])
def test_the_checking_tools_are_pinned_to_one_exact_version(package: str) -> None:
    declared = json.loads((ROOT / "package.json").read_text())["devDependencies"][package]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"][f"node_modules/{package}"]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", declared), f"pin {package} exactly in package.json, not {declared!r}"
    assert locked == declared


@pytest.mark.anyio
async def test_a_subscription_over_http_is_a_400_pointing_to_websockets_and_logs_no_error(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        posted = await client.post("/graphql", json={"query": SUBSCRIPTION})
        got = await client.get("/graphql", params={"query": SUBSCRIPTION})

    for answer in (posted, got):
        assert answer.status_code == 400
        assert "websockets" in answer.json()["error"] and "graphql-transport-ws" in answer.json()["error"]
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


@pytest.mark.anyio
async def test_a_mutation_over_get_is_a_405_allowing_post(client: httpx.AsyncClient) -> None:
    answer = await client.get("/graphql", params={"query": SUBMIT})

    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert "POST" in answer.json()["error"]


@pytest.mark.anyio
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, APOLLO_ACCEPT])
async def test_graphql_response_json_is_answered_in_kind(client: httpx.AsyncClient, accept: str) -> None:
    answer = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": accept})

    assert answer.status_code == 200
    assert answer.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert answer.json() == {"data": {"__typename": "Query"}}


REQUEST_ERRORS = {
    "GRAPHQL_PARSE_FAILED": {"query": "{ player("},
    "GRAPHQL_VALIDATION_FAILED": {"query": "{ nope }"},
    "BAD_USER_INPUT": {
        "query": "query ($h: Int!) { sessionStartsByCountry(hours: $h) { country } }",
        "variables": {"h": "x"},
    },
}


@pytest.mark.anyio
@pytest.mark.parametrize("code", REQUEST_ERRORS)
async def test_request_errors_are_a_400_without_data_in_graphql_response_json(
    client: httpx.AsyncClient, code: str
) -> None:
    answer = await client.post("/graphql", json=REQUEST_ERRORS[code], headers={"accept": APOLLO_ACCEPT})

    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in answer.json()
    assert [e["extensions"]["code"] for e in answer.json()["errors"]] == [code]


@pytest.mark.anyio
@pytest.mark.parametrize("code", REQUEST_ERRORS)
async def test_request_errors_stay_200_with_null_data_in_plain_json(client: httpx.AsyncClient, code: str) -> None:
    # What the specification wants for application/json, and what clients of it expect.
    answer = await client.post("/graphql", json=REQUEST_ERRORS[code], headers={"accept": "application/json"})

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["data"] is None
    assert [e["extensions"]["code"] for e in answer.json()["errors"]] == [code]


@pytest.mark.anyio
async def test_a_field_error_is_a_200_with_data_in_graphql_response_json(client: httpx.AsyncClient) -> None:
    # Execution began: a partial (here: null) result, not a request error.
    answer = await client.post(
        "/graphql", json={"query": '{ player(id: "") { id } }'}, headers={"accept": APOLLO_ACCEPT}
    )

    assert answer.status_code == 200
    assert answer.json()["data"] is None
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
