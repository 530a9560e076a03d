"""Every GraphQL error gets `extensions.code`, in one extension: resolvers just raise.

    GRAPHQL_PARSE_FAILED        the document is not GraphQL (or has over 2,000 tokens)
    GRAPHQL_VALIDATION_FAILED   it does not fit the schema: an unknown field or argument, a
                                literal of the wrong type, too deep, too many aliases,
                                introspection when it is turned off
    BAD_USER_INPUT              a variable of the wrong type, or a value the service refuses
                                (`last: 500`, `id: ""`, an invalid event batch); the problems
                                are in `extensions.details`, named as GraphQL names them
    STORAGE_UNAVAILABLE         Cassandra failed or timed out; the request is safe to retry
    CAPACITY_REACHED            a bound of the process is reached (SUBSCRIPTION_MAX_FEEDS
                                distinct subscriptions); retry later
    INTERNAL_SERVER_ERROR       anything else: logged, and masked when MASK_ERRORS is on

The codes are Apollo Server's, so GraphQL clients that branch on them work unchanged; only
STORAGE_UNAVAILABLE and CAPACITY_REACHED are ours (REST's 503).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

from ...domain.arguments import Argument, InvalidArgument
from ...domain.errors import (
    CapacityReached,
    InvalidInput,
    Problem,
    ServiceError,
    StorageRejected,
    StorageUnavailable,
)
from ...domain.events import describe

# GraphQL's names for the event fields and for the arguments the service checks.
_GRAPHQL_FIELD_NAMES = {"player_id": "playerId", "session_id": "sessionId"}
GRAPHQL_ARGUMENT_NAMES = {
    Argument.PLAYER_ID: "id",
    Argument.LIMIT: "last",
    Argument.HOURS: "hours",
    Argument.SENT_AT: "sentAt",
}
MASKED_MESSAGE = "Unexpected error."


def _detail(problem: Problem) -> dict[str, object]:
    return {**problem.as_dict(), "field": _GRAPHQL_FIELD_NAMES.get(problem.field, problem.field)}


def _invalid_input(error: InvalidInput) -> tuple[str, dict[str, object]]:
    message, problems = error.message, error.problems
    if isinstance(error, InvalidArgument):
        message, problems = error.named(GRAPHQL_ARGUMENT_NAMES)
    elif problems and message.startswith("invalid event batch"):
        # Same sentence as REST, with GraphQL's field names.
        message = f"invalid event batch: {describe(problems, _GRAPHQL_FIELD_NAMES)}"
    return message, {"code": "BAD_USER_INPUT", "details": [_detail(p) for p in problems]}


def is_internal(error: GraphQLError) -> bool:
    """Unexpected exceptions (and Cassandra rejecting a statement): logged and maskable.
    Our own errors and graphql-core's parse/validation/coercion errors are the caller's."""
    original = error.original_error
    if original is None or isinstance(original, StorageRejected):
        return original is not None
    if isinstance(original, ValueError) and error.path is None:
        return False  # graphql-core's coercion of the caller's variables and literals
    return not isinstance(original, GraphQLError | ServiceError)


def to_graphql(error: GraphQLError, *, validation_failed: bool = False, mask: bool = False) -> GraphQLError:
    """`error` with its code; `validation_failed` says it came from validating the document.
    An error that already has a code (a refusal from access.py, or one coded before) keeps it."""
    if (error.extensions or {}).get("code"):
        return error
    original = error.original_error
    message = error.message
    extensions: dict[str, object]
    if isinstance(error, GraphQLSyntaxError):
        extensions = {"code": "GRAPHQL_PARSE_FAILED"}
    elif validation_failed:
        extensions = {"code": "GRAPHQL_VALIDATION_FAILED"}
    elif isinstance(original, InvalidInput):
        message, extensions = _invalid_input(original)
    elif isinstance(original, StorageUnavailable):
        message, extensions = StorageUnavailable.public_message, {"code": "STORAGE_UNAVAILABLE"}
    elif isinstance(original, CapacityReached):
        extensions = {"code": "CAPACITY_REACHED"}
    elif is_internal(error) or error.path is not None:
        # A resolver's unexpected exception, or a field graphql-core could not complete.
        extensions = {"code": "INTERNAL_SERVER_ERROR"}
        if mask and is_internal(error):
            message = MASKED_MESSAGE
    else:
        extensions = {"code": "BAD_USER_INPUT"}  # variables that do not fit their types
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), **extensions},
    )


class ServiceErrors(SchemaExtension):
    """Codes every error (see the module's docstring); masks internal ones when `mask`."""

    def __init__(self, *, mask: bool = True) -> None:
        self.mask = mask
        self._validation_failed = False

    def on_validate(self) -> Iterator[None]:
        yield
        self._validation_failed = bool(self.execution_context.pre_execution_errors)

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [to_graphql(e, validation_failed=self._validation_failed, mask=self.mask) for e in errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Over HTTP an operation has one result, which on_operation sees; over a websocket
        # every result (a subscription pushes many) comes through here first, coded alike.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [to_graphql(e, validation_failed=self._validation_failed, mask=self.mask) for e in errors]
        yield
