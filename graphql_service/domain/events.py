"""Game events and their validation: what a batch may hold and what each field must be.

Both the REST shims and the GraphQL resolvers validate through :func:`validate_batch`, so
the two interfaces accept and reject exactly the same events.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from .errors import InvalidInput, Problem

MIN_BATCH_EVENTS = 1
MAX_BATCH_EVENTS = 10
# Unicode category Cc, exactly: C0, DEL and C1 (a regex is much cheaper than a per-character lookup).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
MAX_PLAYER_ID_LENGTH = 128
DEFAULT_SESSIONS_LIMIT = 20
MAX_WINDOW_HOURS = 8760
MAX_SESSIONS_LIMIT = 100


class EventKind(StrEnum):
    START = "start"
    END = "end"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    player_id: str
    session_id: UUID
    # Always timezone-aware UTC, truncated to milliseconds: Cassandra's `timestamp`
    # keeps milliseconds, so truncating here means what we validate is what we store.
    ts: datetime
    # Upper-case ISO 3166-1 alpha-2 on `start`; None on `end` (ignored there).
    country: str | None = None


@dataclass(frozen=True)
class SubmitResult:
    accepted: int
    expired: int


def describe(problems: Sequence[Problem], rename: Mapping[str, str] | None = None) -> str:
    """One line naming every problem, e.g. `events[1].ts is more than 24 hours in the future`."""
    rename = rename or {}
    parts = []
    for p in problems:
        name = rename.get(p.field, p.field)
        prefix = f"events[{p.index}]." if p.index is not None else ""
        parts.append(f"{prefix}{name} {p.message}")
    return "; ".join(parts)


@dataclass
class _Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, index: int | None, field_name: str, message: str) -> None:
        self.items.append(Problem(field=field_name, message=message, index=index))


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_utc_millis(value: datetime) -> datetime:
    """A naive datetime means UTC; an aware one is converted. Sub-millisecond digits go."""
    try:
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError(f"{value.isoformat()} is out of range in UTC") from None
    return aware.replace(microsecond=aware.microsecond // 1000 * 1000)


def format_timestamp(value: datetime) -> str:
    """The one form every answer uses, REST and GraphQL alike: ISO-8601 in UTC with
    milliseconds and an explicit offset, `2026-11-26T12:00:00.000+00:00`."""
    return to_utc_millis(value).isoformat(timespec="milliseconds")


def parse_timestamp(value: object) -> datetime:
    if isinstance(value, datetime):
        return to_utc_millis(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be an ISO-8601 timestamp string, e.g. 2026-11-26T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 timestamp") from None
    return to_utc_millis(parsed)


def check_player_id(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_PLAYER_ID_LENGTH:
        raise ValueError(f"must be at most {MAX_PLAYER_ID_LENGTH} characters")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. "\ud800" from a JSON escape
        raise ValueError("must be valid Unicode text") from None
    return value


def check_session_id(value: object) -> UUID:
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a UUID string")
    try:
        return UUID(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a UUID") from None


def check_country(value: object) -> str:
    # Two ASCII letters. We deliberately do not check the code is currently assigned:
    # user-assigned codes such as XK (Kosovo) are in everyday use by games.
    if not isinstance(value, str) or len(value) != 2 or not (value.isascii() and value.isalpha()):
        raise ValueError("must be an ISO 3166-1 alpha-2 country code (two letters)")
    return value.upper()


def _whole_number(value: object, low: int, high: int, message: str) -> int:
    if isinstance(value, bool) or value is None:
        raise ValueError(message)
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,12}", value):
        # ASCII digits only: int() would also take "1_0", " 5" and full-width digits.
        raise ValueError(message)
    try:
        number: int = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(1e999)
        raise ValueError(message) from None
    if (isinstance(value, float) and value != number) or not low <= number <= high:
        raise ValueError(message)
    return number


def check_hours(value: object) -> int:
    return _whole_number(value, 1, MAX_WINDOW_HOURS, f"must be a whole number of hours from 1 to {MAX_WINDOW_HOURS}")


def check_limit(value: object, default: int = DEFAULT_SESSIONS_LIMIT) -> int:
    if value is None or value == "":
        return default
    return _whole_number(value, 1, MAX_SESSIONS_LIMIT, f"must be an integer from 1 to {MAX_SESSIONS_LIMIT}")


def _parse_event(
    raw: object, index: int, now: datetime, max_future: timedelta, shift: timedelta, problems: _Problems
) -> Event | None:
    if not isinstance(raw, Mapping):
        problems.add(index, "event", "each event must be a JSON object")
        return None
    before = len(problems.items)

    kind: EventKind | None = None
    raw_kind = raw.get("event")
    if raw_kind is None:
        problems.add(index, "event", "is required ('start' or 'end')")
    else:
        try:
            kind = EventKind(raw_kind)
        except ValueError:
            problems.add(index, "event", f"must be 'start' or 'end', got {raw_kind!r}")

    values: dict[str, Any] = {}
    checks = (
        ("player_id", check_player_id),
        ("session_id", check_session_id),
        ("ts", parse_timestamp),
    )
    for name, check in checks:
        if raw.get(name) is None:
            problems.add(index, name, "is required")
            continue
        try:
            values[name] = check(raw[name])
        except ValueError as exc:
            problems.add(index, name, str(exc))

    ts = values.get("ts")
    if ts is not None and shift:
        try:
            ts = values["ts"] = to_utc_millis(ts + shift)
        except OverflowError:
            problems.add(index, "ts", "is out of range once corrected for the client's clock")
            ts = None
    if ts is not None and ts - now > max_future:
        hours = max_future.total_seconds() / 3600
        problems.add(index, "ts", f"is more than {hours:g} hours in the future")

    country: str | None = None
    if kind is EventKind.START:
        if raw.get("country") is None:
            problems.add(index, "country", "is required on a start event")
        else:
            try:
                country = check_country(raw["country"])
            except ValueError as exc:
                problems.add(index, "country", str(exc))

    if len(problems.items) != before or kind is None:
        return None
    return Event(kind=kind, country=country, **values)


def validate_batch(
    raw_events: Sequence[object], now: datetime, max_future: timedelta, shift: timedelta = timedelta(0)
) -> list[Event]:
    """Validate a whole batch or nothing: any problem rejects every event in it. `shift` is
    added to every `ts` first: the client's clock error (see core/ingest.py)."""
    count = len(raw_events)
    if not MIN_BATCH_EVENTS <= count <= MAX_BATCH_EVENTS:
        raise InvalidInput(
            f"a batch holds {MIN_BATCH_EVENTS} to {MAX_BATCH_EVENTS} events, got {count}",
            [Problem(field="events", message=f"got {count} events")],
        )
    problems = _Problems()
    events = [_parse_event(raw, i, now, max_future, shift, problems) for i, raw in enumerate(raw_events)]
    for problem in _ends_before_starts(events):
        problems.items.append(problem)
    if problems.items:
        raise InvalidInput(f"invalid event batch: {describe(problems.items)}", problems.items)
    return [e for e in events if e is not None]


def _ends_before_starts(events: Sequence[Event | None]) -> list[Problem]:
    """An end earlier than its start, when both are in this batch, is not a session."""
    starts = {(e.player_id, e.session_id): e.ts for e in events if e and e.kind is EventKind.START}
    found = []
    for index, e in enumerate(events):
        if e and e.kind is EventKind.END:
            start_ts = starts.get((e.player_id, e.session_id))
            if start_ts is not None and e.ts < start_ts:
                found.append(Problem(field="ts", message="end is earlier than its session's start", index=index))
    return found
