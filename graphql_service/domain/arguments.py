"""Checks of query arguments (player id, limit, hours, sent_at), done once in the service for
REST and GraphQL.

A bad argument raises InvalidArgument, which carries the argument's identity rather than a
name: REST calls the player id `player_id` and the limit `limit`, GraphQL `id` and `last`,
and each API renders the message with its own name (api/errors.py, api/graphql/errors.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from .errors import InvalidInput, Problem
from .events import check_hours, check_limit, check_player_id, parse_timestamp

T = TypeVar("T")


class Argument(StrEnum):
    """An argument the service checks; the value is the service's own (and the CLI's) name."""

    PLAYER_ID = "player_id"
    LIMIT = "limit"
    HOURS = "hours"
    SENT_AT = "sent_at"


class InvalidArgument(InvalidInput):
    def __init__(self, argument: Argument, reason: str) -> None:
        super().__init__(f"{argument.value} {reason}", [Problem(field=argument.value, message=reason)])
        self.argument = argument
        self.reason = reason

    def named(self, names: dict[Argument, str]) -> tuple[str, list[Problem]]:
        """The message and problems with the argument called what `names` calls it."""
        name = names.get(self.argument, self.argument.value)
        return f"{name} {self.reason}", [Problem(field=name, message=self.reason)]


def _checked(argument: Argument, check: Callable[[object], T], value: object) -> T:
    try:
        return check(value)
    except ValueError as exc:
        raise InvalidArgument(argument, str(exc)) from None


def checked_player_id(value: object) -> str:
    return _checked(Argument.PLAYER_ID, check_player_id, value)


def checked_limit(value: object) -> int:
    return _checked(Argument.LIMIT, check_limit, value)


def checked_hours(value: object) -> int:
    return _checked(Argument.HOURS, check_hours, value)


def checked_sent_at(value: object) -> datetime:
    """The client's clock when it sent a batch (see core/ingest.py), in UTC like any `ts`."""
    return _checked(Argument.SENT_AT, parse_timestamp, value)
