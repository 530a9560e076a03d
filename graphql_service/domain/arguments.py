"""Checks of query arguments (player id, limit, hours, series step and country), done once in
the service for REST and GraphQL."""

from __future__ import annotations

from .buckets import SIZE, Level
from .errors import InvalidInput, Problem
from .events import check_country, check_hours, check_limit, check_player_id

# A series never has more buckets than a chart can show (1,000 hours is ~6 weeks).
MAX_SERIES_BUCKETS = 1000
SERIES_STEPS = {"hour": Level.HOUR, "day": Level.DAY}


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


def checked_step(value: object) -> Level:
    step = SERIES_STEPS.get(value.lower()) if isinstance(value, str) else None
    if step is None:
        message = "must be hour or day"
        raise InvalidInput(f"step {message}", [Problem(field="step", message=message)])
    return step


def checked_series_hours(value: object, step: Level) -> int:
    hours = checked_hours(value)
    most = MAX_SERIES_BUCKETS * SIZE[step] // SIZE[Level.HOUR]
    if hours > most:
        message = f"must be at most {most} with step={step.value} ({MAX_SERIES_BUCKETS:,} buckets per series)"
        raise InvalidInput(f"hours {message}", [Problem(field="hours", message=message)])
    return hours


def checked_country_filter(value: object) -> str | None:
    if value is None:
        return None
    try:
        return check_country(value)
    except ValueError as exc:
        raise InvalidInput(f"country {exc}", [Problem(field="country", message=str(exc))]) from None
