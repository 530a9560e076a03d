"""Who may run a GraphQL operation: what its type needs (auth.OPERATION_ACCESS), decided after
Strawberry has parsed the document (once) and before it is validated or run, over HTTP and
websockets alike. A refusal is a GraphQL error with `extensions.code` UNAUTHENTICATED (Apollo
Server's code); over HTTP the view answers it as the service's usual 401."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from ..auth import OPERATION_ACCESS, Access, refusal_message
from .context import Context

UNAUTHENTICATED = "UNAUTHENTICATED"


class OperationAccess(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, Context):
            needed = OPERATION_ACCESS[execution.operation_type.value]
            if not context.keys.allows(needed, context.key):
                what = "a GraphQL mutation" if needed is Access.WRITE else "GraphQL"
                refusal = GraphQLError(refusal_message(what, context.how), extensions={"code": UNAUTHENTICATED})
                # Set before validation, which Strawberry then skips: a caller without a key
                # learns nothing about the schema either.
                execution.pre_execution_errors = [refusal]
        yield
