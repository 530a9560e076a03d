"""The GraphQL schema: Query, Mutation and the limits that bound one request's cost.

Resolvers call the same domain functions as the REST shims (ingest.submit_events,
queries.checked_*), and reach Cassandra only through the per-request loaders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import Info

from .domain import InvalidInput, Problem, StorageUnavailable, describe
from .graphql_types import CountrySessionStarts, EventInput, PlayerStats, SessionType, SubmitEventsResult
from .loaders import Loaders
from .queries import checked_limit, checked_player_id
from .service import SessionService

# One request may name at most this many fields deep / aliases / tokens. With 20 aliases
# a query reads at most 20 player partitions: bounded work per request.
MAX_DEPTH = 6
MAX_ALIASES = 20
MAX_TOKENS = 2000

_GRAPHQL_FIELD_NAMES = {"player_id": "playerId", "session_id": "sessionId"}


@dataclass
class Context:
    service: SessionService
    loaders: Loaders


def bad_user_input(exc: InvalidInput) -> GraphQLError:
    """Expected failures travel as GraphQL errors with the problems in `extensions`."""

    def detail(problem: Problem) -> dict[str, object]:
        field = _GRAPHQL_FIELD_NAMES.get(problem.field, problem.field)
        return {**problem.as_dict(), "field": field}

    details = [detail(p) for p in exc.problems]
    message = exc.message
    if exc.problems and exc.message.startswith("invalid event batch"):
        # Same sentence as REST, with GraphQL's field names.
        message = f"invalid event batch: {describe(exc.problems, _GRAPHQL_FIELD_NAMES)}"
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT", "details": details})


def storage_unavailable(exc: StorageUnavailable) -> GraphQLError:
    return GraphQLError(
        "storage temporarily unavailable; the request is safe to retry",
        extensions={"code": "STORAGE_UNAVAILABLE"},
    )


def _context(info: Info[Context, Any]) -> Context:
    return info.context


@strawberry.type
class Player:
    id: strawberry.ID

    @strawberry.field(description="The player's last complete sessions, newest end first.")
    async def sessions(self, info: Info[Context, Any], last: int | None = 20) -> list[SessionType]:
        try:
            limit = checked_limit(last)
            found = await _context(info).loaders.recent_sessions.load((str(self.id), limit))
        except InvalidInput as exc:
            raise bad_user_input(exc) from exc
        except StorageUnavailable as exc:
            raise storage_unavailable(exc) from exc
        return [SessionType.from_domain(s) for s in found]

    @strawberry.field(description="Totals over the player's retained complete sessions.")
    async def stats(self, info: Info[Context, Any]) -> PlayerStats:
        try:
            found = await _context(info).loaders.player_stats.load(str(self.id))
        except StorageUnavailable as exc:
            raise storage_unavailable(exc) from exc
        return PlayerStats(
            completed_sessions=found.completed_sessions,
            total_seconds=found.total_seconds,
            average_seconds=found.average_seconds,
            last_session_end=found.last_session_end,
        )


@strawberry.type
class Query:
    @strawberry.field(
        description="Session starts per country in the last `hours` (1..8760), largest first. "
        "The window ends with the current minute; its edges are whole minutes."
    )
    async def session_starts_by_country(self, info: Info[Context, Any], hours: int) -> list[CountrySessionStarts]:
        try:
            report = await _context(info).service.session_starts(hours)
        except InvalidInput as exc:
            raise bad_user_input(exc) from exc
        except StorageUnavailable as exc:
            raise storage_unavailable(exc) from exc
        return [CountrySessionStarts(country=c.country, session_starts=c.session_starts) for c in report.countries]

    @strawberry.field(description="A player, known or not: an unknown player simply has no sessions.")
    def player(self, id: strawberry.ID) -> Player:
        try:
            return Player(id=strawberry.ID(checked_player_id(str(id))))
        except InvalidInput as exc:
            raise bad_user_input(exc) from exc


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Store a batch of 1 to 10 events; all or nothing on invalid input.")
    async def submit_events(self, info: Info[Context, Any], events: list[EventInput]) -> SubmitEventsResult:
        ctx = _context(info)
        try:
            result = await ctx.service.submit_events([e.as_raw() for e in events])
        except InvalidInput as exc:
            raise bad_user_input(exc) from exc
        except StorageUnavailable as exc:
            raise storage_unavailable(exc) from exc
        return SubmitEventsResult(accepted=result.accepted, expired=result.expired)


def _is_internal(error: GraphQLError) -> bool:
    # Our own GraphQLErrors and graphql-core's parse/validation/coercion errors are meant
    # for the caller; anything else is an unexpected exception and is masked.
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError | ValueError)


class ServiceSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Strawberry logs every error with a traceback; the caller's mistakes are answered,
        # not logged. Only unexpected exceptions reach the log.
        super().process_errors([e for e in errors if _is_internal(e)], execution_context)


def build_schema(*, mask_errors: bool = True) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions for every request.
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
    if mask_errors:
        extensions.append(lambda: MaskErrors(should_mask_error=_is_internal))
    return ServiceSchema(query=Query, mutation=Mutation, extensions=extensions)


schema = build_schema()
