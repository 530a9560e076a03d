"""GraphQL errors speak GraphQL: they name GraphQL's arguments and carry `extensions.code`
(Apollo's codes, plus STORAGE_UNAVAILABLE), on every path an error can take."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store import backends, migrations
from graphql_service.store.backends import Backend

from .. import keyspaces
from ..servers import serving

pytestmark = pytest.mark.anyio

SESSIONS = "query ($id: ID!, $last: Int) { player(id: $id) { sessions(last: $last) { sessionId } } }"


async def errors_of(client: httpx.AsyncClient, query: str, **variables: object) -> list[dict[str, Any]]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


async def test_a_bad_last_is_named_last(client: httpx.AsyncClient) -> None:
    [error] = await errors_of(client, SESSIONS, id="p", last=500)

    assert error["message"] == "last must be an integer from 1 to 100"
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "details": [{"field": "last", "message": "must be an integer from 1 to 100"}],
    }


async def test_an_empty_player_id_is_named_id(client: httpx.AsyncClient) -> None:
    [error] = await errors_of(client, '{ player(id: "") { id } }')

    assert error["message"] == "id must not be empty"
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["player"]


async def test_bad_hours_are_named_hours(client: httpx.AsyncClient) -> None:
    [error] = await errors_of(client, "{ sessionStartsByCountry(hours: 0) { country } }")

    assert error["message"] == "hours must be a whole number of hours from 1 to 8760"
    assert error["extensions"]["details"] == [{"field": "hours", "message": error["message"][len("hours ") :]}]


async def test_rest_keeps_its_own_argument_names(client: httpx.AsyncClient) -> None:
    limit = await client.get("/sessions", params={"player_id": "p", "limit": "500"})
    player = await client.get("/sessions", params={"player_id": ""})

    assert limit.json()["error"] == "limit must be an integer from 1 to 100"
    assert player.json() == {
        "error": "player_id must not be empty",
        "details": [{"field": "player_id", "message": "must not be empty"}],
    }


async def test_a_syntax_error_is_graphql_parse_failed(client: httpx.AsyncClient) -> None:
    [error] = await errors_of(client, "{ player(id: ")

    assert error["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


@pytest.mark.parametrize(
    "query",
    [
        '{ player(id: "p") { nickname } }',
        '{ player(id: "p") { sessions(last: "five") { sessionId } } }',
        '{ player(id: "p") { sessions(first: 5) { sessionId } } }',
        "{ sessionStartsByCountry { country } }",
        '{ player(id: "p") { sessions { sessionId } } } { player(id: "q") { id } }',
    ],
    ids=["unknown-field", "literal-of-wrong-type", "unknown-argument", "missing-argument", "two-anonymous"],
)
async def test_a_document_that_does_not_fit_the_schema_is_graphql_validation_failed(
    client: httpx.AsyncClient, query: str
) -> None:
    errors = await errors_of(client, query)

    assert {e["extensions"]["code"] for e in errors} == {"GRAPHQL_VALIDATION_FAILED"}


async def test_the_request_limits_are_graphql_validation_failed(client: httpx.AsyncClient) -> None:
    aliases = " ".join(f'a{i}: player(id: "p{i}") {{ id }}' for i in range(50))
    [error] = await errors_of(client, f"{{ {aliases} }}")

    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_variable_of_the_wrong_type_is_bad_user_input(client: httpx.AsyncClient) -> None:
    [error] = await errors_of(client, SESSIONS, id="p", last="five")

    assert "$last" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("sent_at", ["yesterday", "2026-13-01T00:00:00", 5])
async def test_a_bad_sent_at_variable_is_bad_user_input_naming_it(client: httpx.AsyncClient, sent_at: object) -> None:
    query = "mutation ($at: DateTime) { submitEvents(events: [], sentAt: $at) { accepted } }"

    [error] = await errors_of(client, query, at=sent_at)

    assert "$at" in error["message"] and "ISO-8601" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unavailable_storage_is_storage_unavailable(settings: Settings, database: Backend) -> None:
    own = await backends.connect(settings)
    async with serving(create_app(settings, database=own)) as client:
        await own.close()
        [error] = await errors_of(client, '{ player(id: "p") { sessions { sessionId } } }')

    assert error["message"] == "storage temporarily unavailable; the request is safe to retry"
    assert error["extensions"] == {"code": "STORAGE_UNAVAILABLE"}


async def test_an_internal_error_is_masked_but_keeps_its_code(settings: Settings, database: Backend) -> None:
    # Statements prepared against a keyspace that is then dropped: Cassandra refuses them.
    async with keyspaces.own_keyspace(database, settings, "gone") as doomed:
        async with serving(create_app(doomed, database=database)) as client:
            await migrations.drop_keyspace(database, doomed.keyspace)
            [error] = await errors_of(client, '{ player(id: "p") { sessions { sessionId } } }')

    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}


async def test_a_document_over_the_token_limit_is_graphql_parse_failed(client: httpx.AsyncClient) -> None:
    [error] = await errors_of(client, "{ " + "__typename " * 2100 + "}")

    assert "tokens" in error["message"]
    assert error["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


async def test_introspection_turned_off_is_graphql_validation_failed(settings: Settings, database: Backend) -> None:
    async with serving(create_app(settings.with_overrides(graphql_introspection=False), database=database)) as client:
        errors = await errors_of(client, "{ __schema { queryType { name } } }")

    assert errors and {e["extensions"]["code"] for e in errors} == {"GRAPHQL_VALIDATION_FAILED"}
