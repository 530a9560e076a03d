"""The GraphQL schema: Query, Mutation and the limits that bound one request's cost.

Resolvers hold the service (through the context and its loaders) and nothing else; the
service checks arguments, the ServiceErrors extension turns its errors into GraphQL errors.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing
from datetime import datetime
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError, validate
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import Info

from ...domain.arguments import MAX_SERIES_BUCKETS
from ...domain.events import (
    MAX_BATCH_EVENTS,
    MAX_PLAYER_ID_LENGTH,
    MAX_SESSIONS_LIMIT,
    MAX_WINDOW_HOURS,
    MIN_BATCH_EVENTS,
)
from .access import OperationAccess
from .context import Context
from .errors import ServiceErrors, is_internal
from .scalars import SCALARS
from .types import (
    CountrySessionStarts,
    EventInput,
    PlayerStats,
    SeriesPoint,
    SeriesStep,
    SessionPage,
    SessionType,
    SubmitEventsResult,
)

# One request may name at most this many fields deep / aliases / tokens. With 20 aliases
# a query reads at most 20 player partitions: bounded work per request.
MAX_DEPTH = 6
MAX_ALIASES = 20
MAX_TOKENS = 2000
# Distinct document texts whose validation is remembered (each at most MAX_TOKENS).
VALIDATED_DOCUMENTS = 256

# The arguments, described once each, with the limits the service checks them against.
Last = Annotated[int | None, strawberry.argument(description=f"How many sessions at most, 1..{MAX_SESSIONS_LIMIT}.")]
Before = Annotated[
    str | None,
    strawberry.argument(description="A page's `nextCursor`: the sessions after that page; null for the newest."),
]
Hours = Annotated[
    int, strawberry.argument(description=f"The window's length in hours, 1..{MAX_WINDOW_HOURS}, ending now.")
]
SeriesHours = Annotated[
    int,
    strawberry.argument(
        description=f"The window's length in hours, 1..{MAX_WINDOW_HOURS}; with HOUR at most {MAX_SERIES_BUCKETS}."
    ),
]
Step = Annotated[SeriesStep, strawberry.argument(description="Count per UTC hour or per UTC day.")]
Country = Annotated[
    str | None,
    strawberry.argument(description="Only this country (ISO 3166-1 alpha-2, any case); null for every country."),
]
PlayerId = Annotated[
    strawberry.ID,
    strawberry.argument(
        description=f"The player's id: non-empty, at most {MAX_PLAYER_ID_LENGTH} characters, no control characters."
    ),
]
Events = Annotated[
    list[EventInput],
    strawberry.argument(description=f"{MIN_BATCH_EVENTS} to {MAX_BATCH_EVENTS} events, stored all or none."),
]
SentAt = Annotated[
    datetime | None,
    strawberry.argument(
        description="The client's clock when it sent the batch; every `ts` is moved by (receive time - `sentAt`)."
    ),
]


@strawberry.type
class Player:
    id: strawberry.ID

    @strawberry.field(description="The player's last complete sessions, newest end first.")
    async def sessions(self, info: Info[Context, Any], last: Last = 20) -> list[SessionType]:
        found = await info.context.loaders.recent_sessions.load((str(self.id), last))
        return [SessionType.from_domain(s) for s in found]

    @strawberry.field(
        description="A page of the player's complete sessions, newest end first: the newest `last`, "
        "or with `before` (a page's `nextCursor`) the `last` after that page. Pages neither repeat "
        "nor skip a session, also while new ones arrive."
    )
    async def sessions_page(self, info: Info[Context, Any], last: Last = 20, before: Before = None) -> SessionPage:
        return SessionPage.from_domain(await info.context.service.sessions_page(str(self.id), last, before))

    @strawberry.field(description="Totals over the player's retained complete sessions.")
    async def stats(self, info: Info[Context, Any]) -> PlayerStats:
        return PlayerStats.from_domain(await info.context.loaders.player_stats.load(str(self.id)))


@strawberry.type
class Query:
    @strawberry.field(
        description="Session starts per country in the last `hours` (1..8760), largest first. "
        "The window ends with the current minute; its edges are whole minutes."
    )
    async def session_starts_by_country(self, info: Info[Context, Any], hours: Hours) -> list[CountrySessionStarts]:
        report = await info.context.service.session_starts(hours)
        return [CountrySessionStarts(country=c.country, session_starts=c.session_starts) for c in report.countries]

    @strawberry.field(
        description="Session starts per UTC hour or day and country over the window of "
        "`sessionStartsByCountry(hours:)` (the edge buckets cut by it), ordered by bucket then country; "
        "empty buckets are left out. At most 1,000 buckets: with HOUR, `hours` is at most 1000."
    )
    async def session_starts_series(
        self, info: Info[Context, Any], hours: SeriesHours, step: Step, country: Country = None
    ) -> list[SeriesPoint]:
        series = await info.context.service.session_starts_series(hours, step.value, country)
        return [SeriesPoint.from_domain(p) for p in series.points]

    @strawberry.field(description="A player, known or not: an unknown player simply has no sessions.")
    def player(self, info: Info[Context, Any], id: PlayerId) -> Player:
        return Player(id=strawberry.ID(info.context.service.checked_player_id(str(id))))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Store a batch of 1 to 10 events; all or nothing on invalid input. `sentAt` (optional) "
        "is the client's clock when it sent the batch: every event's `ts` is moved by (the server's "
        "receive time - `sentAt`), which corrects a device clock that is wrong."
    )
    async def submit_events(
        self, info: Info[Context, Any], events: Events, sent_at: SentAt = None
    ) -> SubmitEventsResult:
        result = await info.context.service.submit_events([e.as_raw() for e in events], sent_at=sent_at)
        return SubmitEventsResult(accepted=result.accepted, expired=result.expired)


@strawberry.type
class Subscription:
    """Live updates over graphql-transport-ws: each process reads what the database says every
    SUBSCRIPTION_POLL_SECONDS (one read per distinct subscription, however many subscribers)
    and pushes the first answer at once, then each change."""

    @strawberry.subscription(
        description="`sessionStartsByCountry(hours)` now, then whenever a count changes "
        "(at most once per poll interval, never more than once a second)."
    )
    async def session_starts_by_country(
        self, info: Info[Context, Any], hours: Hours
    ) -> AsyncGenerator[list[CountrySessionStarts], None]:
        async with aclosing(info.context.service.session_starts_updates(hours)) as updates:
            async for countries in updates:
                yield [CountrySessionStarts(country=c.country, session_starts=c.session_starts) for c in countries]

    @strawberry.subscription(
        description="`player(id).sessions(last)` now, then whenever it changes (a session completes)."
    )
    async def player_sessions(
        self, info: Info[Context, Any], id: PlayerId, last: Last = 20
    ) -> AsyncGenerator[list[SessionType], None]:
        async with aclosing(info.context.service.player_sessions_updates(str(id), last)) as updates:
            async for sessions in updates:
                yield [SessionType.from_domain(s) for s in sessions]


class Validation(SchemaExtension):
    """Validation, run once per distinct document text and remembered (an LRU of
    VALIDATED_DOCUMENTS per schema): validating costs ~9 ms, and a client may send the same
    subscription 20 times per connection over 1,000 connections. Strawberry's ValidationCache
    misses every time, as QueryDepthLimiter makes a new rule class per request; the rules
    here depend on the schema alone, so the text is the key.

    With `hide_suggestions` (introspection off): graphql-core's option for no "Did you mean
    'player'?" naming the schema's fields, arguments and types to a caller who may not
    introspect it; Strawberry does not pass it. This is Strawberry's own way to take over
    validation (its ValidationCache does the same): the errors left here make it skip its
    own pass. Its two extra rules are added as it adds them."""

    def __init__(
        self,
        remembered: Callable[[str], list[GraphQLError] | None],
        remember: Callable[[str, list[GraphQLError]], None],
        *,
        hide_suggestions: bool,
    ) -> None:
        self.remembered, self.remember = remembered, remember
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        if context.pre_execution_errors is not None:  # refused already (OperationAccess)
            yield
            return
        text = context.query or ""
        errors = self.remembered(text) if text else None
        if errors is None:
            rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
            errors = validate(
                context.schema._schema, context.graphql_document, rules, hide_suggestions=self.hide_suggestions
            )
            if text:
                self.remember(text, errors)
        context.pre_execution_errors = list(errors)
        yield


class SuggestionFreeExecution(StrawberryGraphQLCoreExecutionContext):
    """The same for execution: coercing variables (an unknown enum value or input field)."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})


class ServiceSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Strawberry logs every error with a traceback; the caller's mistakes are answered,
        # not logged. Only unexpected exceptions reach the log.
        super().process_errors([e for e in errors if is_internal(e)], execution_context)


def build_schema(*, mask_errors: bool = True, introspection: bool = True) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions for every request.
    extensions: list[Any] = [
        # First: an operation the caller may not run is neither validated nor run.
        OperationAccess,
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # Codes every error, and masks unexpected ones (MASK_ERRORS) in the same pass; also
        # each result a subscription pushes.
        lambda: ServiceErrors(mask=mask_errors),
    ]
    if not introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    validated: OrderedDict[str, list[GraphQLError]] = OrderedDict()

    def remembered(text: str) -> list[GraphQLError] | None:
        if text in validated:
            validated.move_to_end(text)
        return validated.get(text)

    def remember(text: str, errors: list[GraphQLError]) -> None:
        validated[text] = errors
        while len(validated) > VALIDATED_DOCUMENTS:
            validated.popitem(last=False)

    # Last: the rules of every extension before it are in by then. Without introspection the
    # schema is not public, so its names are not suggested either.
    extensions += [
        lambda: Validation(remembered, remember, hide_suggestions=not introspection),
    ]
    return ServiceSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=None if introspection else SuggestionFreeExecution,
    )


schema = build_schema()
