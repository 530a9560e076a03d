"""GraphQL's DateTime, read and written exactly as REST reads and writes timestamps.

Strawberry's own DateTime writes `2026-11-26T12:00:00+00:00` (no milliseconds, or six
digits) and reads with dateutil; this one writes the service's one form
(`2026-11-26T12:00:00.000+00:00`, domain/events.py) and reads what REST's `ts` takes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types.scalar import ScalarDefinition

from ...domain.events import format_timestamp, parse_timestamp


def _serialize(value: Any) -> str:
    return format_timestamp(value)


DATE_TIME: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description=(
        "An instant, ISO-8601. Answers are UTC with milliseconds: 2026-11-26T12:00:00.000+00:00. "
        "Inputs may carry an offset (converted to UTC) or none (taken as UTC)."
    ),
    serialize=_serialize,
    # Its ValueErrors name the problem; graphql-core adds the variable or argument.
    parse_value=parse_timestamp,
)

SCALARS: dict[object, ScalarDefinition] = {datetime: DATE_TIME}
