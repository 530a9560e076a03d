"""schema.graphql is generated (`make schema`); this fails when it drifts from the code."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import GraphQLObjectType, GraphQLScalarType, build_schema, parse, print_ast
from graphql.type import specified_scalar_types

from graphql_service.api.graphql.schema import schema

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    assert SDL.read_text().strip() == schema.as_str().strip(), "schema.graphql is stale: run `make schema`"


def _without_descriptions(sdl: str) -> str:
    """The SDL as graphql-core prints it without descriptions: each signature on one line."""
    bare = re.sub(r'"""[\s\S]*?"""|"[^"\n]*"(?=\s*\n)', "", sdl)
    return print_ast(parse(bare))


def test_the_contract_names_are_in_the_schema() -> None:
    text = _without_descriptions(SDL.read_text())
    for fragment in (
        "submitEvents(events: [EventInput!]!, sentAt: DateTime = null): SubmitEventsResult!",
        "player(id: ID!): Player!",
        "sessions(last: Int = 20): [Session!]!",
        "enum EventType",
    ):
        assert fragment in text


def test_every_argument_and_scalar_of_ours_is_described() -> None:
    built = build_schema(SDL.read_text())
    undescribed = [
        f"{type_.name}.{name}({argument})"
        for type_ in built.type_map.values()
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__")
        for name, field in type_.fields.items()
        for argument, definition in field.args.items()
        if not definition.description
    ]
    undescribed += [
        name
        for name, type_ in built.type_map.items()
        if isinstance(type_, GraphQLScalarType) and name not in specified_scalar_types and not type_.description
    ]
    assert undescribed == []
