"""Checks of query arguments (player id, limit, hours), done once in the service for REST and GraphQL."""

from __future__ import annotations

from .errors import InvalidInput, Problem
from .events import check_hours, check_limit, check_player_id


def checked_player_id(value: object) -> str:
    try:
        return check_player_id(value)
    except ValueError as exc:
        raise InvalidInput(f"player_id {exc}", [Problem(field="player_id", message=str(exc))]) from None


def checked_limit(value: object) -> int:
    try:
        return check_limit(value)
    except ValueError as exc:
        raise InvalidInput(f"limit {exc}", [Problem(field="limit", message=str(exc))]) from None


def checked_hours(value: object) -> int:
    try:
        return check_hours(value)
    except ValueError as exc:
        raise InvalidInput(f"hours {exc}", [Problem(field="hours", message=str(exc))]) from None
