"""The GraphQL schema: Query, Mutation and the limits that bound one request's cost.

Resolvers hold the service (through the context and its loaders) and nothing else; the
service checks arguments, the ServiceErrors extension turns its errors into GraphQL errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from .context import Context
from .errors import ServiceErrors, is_internal
from .scalars import SCALARS
from .types import CountrySessionStarts, EventInput, PlayerStats, SessionType, SubmitEventsResult

# One request may name at most this many fields deep / aliases / tokens. With 20 aliases
# a query reads at most 20 player partitions: bounded work per request.
MAX_DEPTH = 6
MAX_ALIASES = 20
MAX_TOKENS = 2000


@strawberry.type
class Player:
    id: strawberry.ID

    @strawberry.field(description="The player's last complete sessions, newest end first.")
    async def sessions(self, info: Info[Context, Any], last: int | None = 20) -> list[SessionType]:
        found = await info.context.loaders.recent_sessions.load((str(self.id), last))
        return [SessionType.from_domain(s) for s in found]

    @strawberry.field(description="Totals over the player's retained complete sessions.")
    async def stats(self, info: Info[Context, Any]) -> PlayerStats:
        return PlayerStats.from_domain(await info.context.loaders.player_stats.load(str(self.id)))


@strawberry.type
class Query:
    @strawberry.field(
        description="Session starts per country in the last `hours` (1..8760), largest first. "
        "The window ends with the current minute; its edges are whole minutes."
    )
    async def session_starts_by_country(self, info: Info[Context, Any], hours: int) -> list[CountrySessionStarts]:
        report = await info.context.service.session_starts(hours)
        return [CountrySessionStarts(country=c.country, session_starts=c.session_starts) for c in report.countries]

    @strawberry.field(description="A player, known or not: an unknown player simply has no sessions.")
    def player(self, info: Info[Context, Any], id: strawberry.ID) -> Player:
        return Player(id=strawberry.ID(info.context.service.checked_player_id(str(id))))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Store a batch of 1 to 10 events; all or nothing on invalid input. `sentAt` (optional) "
        "is the client's clock when it sent the batch: every event's `ts` is moved by (the server's "
        "receive time - `sentAt`), which corrects a device clock that is wrong."
    )
    async def submit_events(
        self, info: Info[Context, Any], events: list[EventInput], sent_at: datetime | None = None
    ) -> SubmitEventsResult:
        result = await info.context.service.submit_events([e.as_raw() for e in events], sent_at=sent_at)
        return SubmitEventsResult(accepted=result.accepted, expired=result.expired)


class ServiceSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Strawberry logs every error with a traceback; the caller's mistakes are answered,
        # not logged. Only unexpected exceptions reach the log.
        super().process_errors([e for e in errors if is_internal(e)], execution_context)


def build_schema(*, mask_errors: bool = True, introspection: bool = True) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions for every request.
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Codes every error, and masks unexpected ones (MASK_ERRORS) in the same pass.
        lambda: ServiceErrors(mask=mask_errors),
    ]
    if not introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return ServiceSchema(
        query=Query, mutation=Mutation, extensions=extensions, config=StrawberryConfig(scalar_map=SCALARS)
    )


schema = build_schema()
