"""GET /openapi.json: a valid OpenAPI 3.1 document that describes every REST route and
nothing else, and that the service's real answers match.

The document is checked against the official OpenAPI 3.1 JSON Schema (the copy Schemathesis
ships and validates with: `openapi-spec-validator` is not among its dependencies), every
schema in it against the JSON Schema 2020-12 meta-schema, and answers with `jsonschema_rs`
(Schemathesis' validator), formats included.
"""

from __future__ import annotations

import gzip
import json
import re
import secrets
import string
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from schemathesis.specs.openapi.definitions import OPENAPI_31
from starlette.routing import Mount, Route

from graphql_service.api.openapi import DOCUMENT
from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend

from ..events import end, iso, new_player, now, session_pair, start
from ..servers import serving

# Not REST: GraphQL has its own schema (schema.graphql), the dashboard is a page for people.
NOT_REST = ("/graphql", "/dashboard", "/static")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REGISTRY = jsonschema_rs.Registry([("urn:openapi", DOCUMENT)])


def schema_validator(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """A validator of `schema`, whose `#/components/...` references point into the document."""
    rebased = _rebase(schema)
    return jsonschema_rs.Draft202012Validator(rebased, registry=REGISTRY, validate_formats=True)


def _rebase(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: f"urn:openapi{value}" if key == "$ref" and isinstance(value, str) else _rebase(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A response, parameter, ... object, following a `#/components/...` reference."""
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def assert_documented(method: str, template: str, response: httpx.Response) -> None:
    """The answer's status, content type and body are those the document gives `method template`."""
    operation = DOCUMENT["paths"][template][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {template}: {status} is not documented"
    documented = resolve(operation["responses"][status])
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type in documented["content"], f"{method} {template} {status}: {media_type} is not documented"
    schema = documented["content"][media_type]["schema"]
    body = response.json() if media_type == "application/json" else response.text
    errors = [error.message for error in schema_validator(schema).iter_errors(body)]
    assert errors == [], f"{method} {template} {status}: {body!r}"
    for header, spec in documented.get("headers", {}).items():
        assert header.lower() in response.headers, f"{method} {template} {status}: no {header} header"
        assert schema_validator(spec["schema"]).is_valid(response.headers[header])


# --- the document itself ---------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1() -> None:
    validator = jsonschema_rs.Draft202012Validator(OPENAPI_31)

    assert DOCUMENT["openapi"].startswith("3.1.")
    assert [error.message for error in validator.iter_errors(DOCUMENT)] == []
    # The validator can fail: a document without `info` is not OpenAPI.
    assert not validator.is_valid({key: value for key, value in DOCUMENT.items() if key != "info"})


def _schemas(node: Any, parent: str = "") -> Iterator[tuple[str, Any]]:
    """Every Schema Object of the document: components, parameters and media types."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{parent}/{key}"
            if key == "schema" or parent.endswith("/components/schemas"):
                yield where, value
            else:
                yield from _schemas(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _schemas(item, f"{parent}/{index}")


def test_every_schema_in_it_is_valid_json_schema_2020_12() -> None:
    found = dict(_schemas(DOCUMENT))

    assert "/components/schemas/Event" in found and len(found) > 20
    wrong = {where: str(exc) for where, schema in found.items() for exc in _meta_errors(schema)}
    assert wrong == {}


def _meta_errors(schema: Any) -> list[Exception]:
    try:
        jsonschema_rs.meta.validate(schema)
        schema_validator(schema)  # compiles it: every reference resolves, every pattern parses
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        return [exc]
    return []


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_reference_resolves() -> None:
    refs = set(_refs(DOCUMENT))

    assert "#/components/schemas/Event" in refs
    for ref in refs:
        assert ref.startswith("#/components/"), ref
        assert resolve({"$ref": ref}), ref


def test_schemathesis_reads_every_operation() -> None:
    loaded = schemathesis.openapi.from_dict(DOCUMENT)
    results = list(loaded.get_all_operations())

    assert all(result.ok() for result in results)
    assert len(results) == len(list(operations()))


def test_every_operation_answers_errors_in_json() -> None:
    for method, path, operation in operations():
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                content = resolve(response)["content"]
                assert list(content) == ["application/json"], f"{method} {path} {status}"
                if path != "/readyz":  # its 503 says why Cassandra is not ready, in its own shape
                    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


# --- the document and the app agree ------------------------------------------------------------


def _served_rest_operations() -> set[tuple[str, str]]:
    app = create_app(Settings.from_env())
    served = set()
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith(NOT_REST):
            continue
        assert isinstance(route, Route) and not isinstance(route, Mount), f"{path}: not a plain route"
        # `{player_id:player_id}` → `{player_id}`: the convertor is the router's business.
        template = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
        # Starlette answers HEAD for every GET route by itself.
        served |= {(method, template) for method in route.methods or () if method != "HEAD"}
    return served


def test_every_rest_route_is_documented_and_nothing_else() -> None:
    documented = {(method, path) for method, path, _ in operations()}
    served = _served_rest_operations()

    assert ("POST", "/events") in served and ("GET", "/openapi.json") in served
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


def test_path_parameters_are_declared() -> None:
    for method, path, operation in operations():
        declared = {resolve(p)["name"] for p in operation.get("parameters", []) if resolve(p)["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), f"{method} {path}"


# --- real answers match the document -----------------------------------------------------------


@pytest.mark.anyio
async def test_the_document_is_served_as_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == DOCUMENT
    assert_documented("GET", "/openapi.json", response)


@pytest.mark.anyio
async def test_ingest_answers_match(client: httpx.AsyncClient) -> None:
    player = new_player("openapi")
    _, pair = session_pair(player, now() - timedelta(minutes=30))
    session = uuid.uuid4()
    future = [start(player, session, now() + timedelta(days=2), country="F1")]

    for body in (pair, {"rows": pair}, {"events": pair}):
        ok = await client.post("/events", json=body)
        assert ok.text == "POST success"
        assert_documented("POST", "/events", ok)
    counted = await client.post(
        "/events", json={"rows": pair, "sent_at": iso(now())}, headers={"accept": "application/json"}
    )
    assert counted.json() == {"accepted": 2, "expired": 0}
    assert_documented("POST", "/events", counted)
    invalid = await client.post("/events", json=future)
    not_json = await client.post("/events", content=b"{", headers={"content-type": "application/json"})
    empty = await client.post("/events", json=[])
    wrong_type = await client.post("/events", content=b"[]", headers={"content-type": "text/plain"})
    too_large = await client.post("/events", json=[{"player_id": "x" * 70_000}])

    assert [r.status_code for r in (invalid, not_json, empty, wrong_type, too_large)] == [400, 400, 400, 415, 413]
    assert len(invalid.json()["details"]) == 2
    for response in (invalid, not_json, empty, wrong_type, too_large):
        assert_documented("POST", "/events", response)


@pytest.mark.anyio
async def test_compressed_ingest_answers_match(client: httpx.AsyncClient) -> None:
    _, pair = session_pair(new_player("openapi-gzip"), now() - timedelta(minutes=30))
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    body = json.dumps(pair).encode()

    ok = await client.post("/events", content=gzip.compress(body), headers=headers)
    corrupt = await client.post("/events", content=body, headers=headers)
    bomb = await client.post("/events", content=gzip.compress(b" " * 1_000_000 + body), headers=headers)
    unknown = await client.post("/events", content=body, headers={**headers, "content-encoding": "br"})

    assert [r.status_code for r in (ok, corrupt, bomb, unknown)] == [200, 400, 413, 415]
    for response in (ok, corrupt, bomb, unknown):
        assert_documented("POST", "/events", response)


@pytest.mark.anyio
async def test_read_answers_match(client: httpx.AsyncClient) -> None:
    player = new_player("openapi")
    begun = now() - timedelta(minutes=30)
    session = uuid.uuid4()
    # A country of this test's own: another test's start within the hour would count too.
    country = "".join(secrets.choice(string.ascii_uppercase) for _ in range(2))
    posted = await client.post(
        "/events", json=[start(player, session, begun, country.lower()), end(player, session, begun)]
    )
    assert posted.status_code == 200

    listed = await client.get("/sessions", params={"player_id": player, "limit": 5})
    by_body = await client.request("GET", "/sessions", json={"player_id": player})
    unknown = await client.get("/sessions", params={"player_id": new_player()})
    missing = await client.get("/sessions")
    bad_limit = await client.get("/sessions", params={"player_id": player, "limit": 0})
    starts = await client.get("/session-starts", params={"hours": 1})
    bad_hours = await client.get("/session-starts", params={"hours": "x"})
    series = await client.get("/session-starts/series", params={"hours": 2, "step": "hour", "country": country.lower()})
    bad_step = await client.get("/session-starts/series", params={"hours": 2, "step": "week"})
    stats = await client.get(f"/players/{player}/stats")
    no_stats = await client.get(f"/players/{new_player()}/stats")
    slash = await client.get("/players/a%2Fb/stats")
    too_long = await client.get(f"/players/{'x' * 129}/stats")

    assert listed.json()["sessions"][0]["duration_seconds"] == 0.0
    assert by_body.json() == listed.json()
    assert {"country": country, "session_starts": 1} in starts.json()["countries"]
    assert stats.json()["completed_sessions"] == 1 and no_stats.json()["last_session_end"] is None
    for response in (listed, by_body, unknown, missing, bad_limit):
        assert_documented("GET", "/sessions", response)
    for response in (starts, bad_hours):
        assert_documented("GET", "/session-starts", response)
    for response in (series, bad_step):
        assert_documented("GET", "/session-starts/series", response)
    assert series.json()["series"][-1]["country"] == country
    for response in (stats, no_stats, slash, too_long):
        assert_documented("GET", "/players/{player_id}/stats", response)
    assert [r.status_code for r in (missing, bad_limit, bad_hours, bad_step, too_long)] == [400] * 5


@pytest.mark.anyio
async def test_operational_answers_match(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        response = await client.get(path)
        assert response.status_code == 200
        assert_documented("GET", path, response)
    openmetrics = await client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert_documented("GET", "/metrics", openmetrics)


@pytest.fixture
async def guarded(settings: Settings, database: Backend) -> AsyncIterator[httpx.AsyncClient]:
    locked = settings.with_overrides(api_keys=("ingest-key",), read_api_keys=("read-key",), metrics_token="t")
    async with serving(create_app(locked, database=database)) as client:
        yield client


@pytest.mark.anyio
async def test_refusals_without_a_key_match(guarded: httpx.AsyncClient) -> None:
    refusals = {
        ("POST", "/events"): await guarded.post("/events", json=[]),
        ("GET", "/sessions"): await guarded.get("/sessions", params={"player_id": "p"}),
        ("GET", "/session-starts"): await guarded.get("/session-starts", params={"hours": 1}),
        ("GET", "/players/{player_id}/stats"): await guarded.get("/players/p/stats"),
        ("GET", "/metrics"): await guarded.get("/metrics"),
    }

    for (method, template), response in refusals.items():
        assert response.status_code == 401
        assert_documented(method, template, response)
    # The probes and this document stay open.
    for path in ("/healthz", "/readyz", "/openapi.json"):
        assert (await guarded.get(path)).status_code == 200
