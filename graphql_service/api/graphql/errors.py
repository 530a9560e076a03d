"""Service errors → GraphQL errors, in one extension: resolvers just raise.

InvalidInput becomes `BAD_USER_INPUT` with the problems in `extensions.details` (GraphQL's
field names), StorageUnavailable `STORAGE_UNAVAILABLE` (safe to retry); anything else is
internal, logged, and masked when MASK_ERRORS is on.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from ...domain.errors import InvalidInput, Problem, ServiceError, StorageRejected, StorageUnavailable
from ...domain.events import describe

_GRAPHQL_FIELD_NAMES = {"player_id": "playerId", "session_id": "sessionId"}


def _detail(problem: Problem) -> dict[str, object]:
    return {**problem.as_dict(), "field": _GRAPHQL_FIELD_NAMES.get(problem.field, problem.field)}


def to_graphql(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, InvalidInput):
        message = original.message
        if original.problems and message.startswith("invalid event batch"):
            # Same sentence as REST, with GraphQL's field names.
            message = f"invalid event batch: {describe(original.problems, _GRAPHQL_FIELD_NAMES)}"
        extensions: dict[str, object] = {
            "code": "BAD_USER_INPUT",
            "details": [_detail(p) for p in original.problems],
        }
    elif isinstance(original, StorageUnavailable):
        message, extensions = StorageUnavailable.public_message, {"code": "STORAGE_UNAVAILABLE"}
    else:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def is_internal(error: GraphQLError) -> bool:
    """Unexpected exceptions (and Cassandra rejecting a statement): logged and maskable.
    Our own errors and graphql-core's parse/validation/coercion errors are the caller's."""
    original = error.original_error
    if original is None or isinstance(original, StorageRejected):
        return original is not None
    if isinstance(original, ValueError) and error.path is None:
        return False  # graphql-core's coercion of the caller's variables and literals
    return not isinstance(original, GraphQLError | ServiceError)


class ServiceErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [to_graphql(e) for e in errors]
