"""GraphQL's DateTime, read and written exactly as REST reads and writes timestamps, and
the UUID scalar with a description (Strawberry's has none).

Strawberry's own DateTime writes `2026-11-26T12:00:00+00:00` (no milliseconds, or six
digits) and reads with dateutil; this one writes the service's one form
(`2026-11-26T12:00:00.000+00:00`, domain/events.py) and reads what REST's `ts` takes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.schema.types.base_scalars import wrap_parser
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

UUID_SCALAR: ScalarDefinition = strawberry.scalar(
    name="UUID",
    description=(
        "A UUID, any version. Answers are lower-case and hyphenated: 5f0c8a4e-2d7b-4c38-9a59-1f4f0d6b2a11; "
        "inputs may also be upper-case, without hyphens, in braces or as a urn:uuid: URN."
    ),
    specified_by_url="https://www.rfc-editor.org/rfc/rfc9562",
    serialize=str,
    # Strawberry's own parser, so a malformed UUID is refused with its words.
    parse_value=wrap_parser(UUID, "UUID"),
)

SCALARS: dict[object, ScalarDefinition] = {datetime: DATE_TIME, UUID: UUID_SCALAR}
