"""schema.graphql is generated (`make schema`); this fails when it drifts from the code."""

from __future__ import annotations

from pathlib import Path

from graphql_service.api.graphql.schema import schema

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    assert SDL.read_text().strip() == schema.as_str().strip(), "schema.graphql is stale: run `make schema`"


def test_the_contract_names_are_in_the_schema() -> None:
    text = SDL.read_text()
    for fragment in (
        "submitEvents(events: [EventInput!]!, sentAt: DateTime = null): SubmitEventsResult!",
        "player(id: ID!): Player!",
        "sessions(last: Int = 20): [Session!]!",
        "enum EventType",
    ):
        assert fragment in text
