"""What one Kafka record holds: the JSON a game client would `POST /events`, either one
event (`{"event": "start", ...}`) or a batch (`{"rows": [...], "sent_at": ...}`).

Only the envelope is read here; the events themselves are checked by
`SessionService.submit_events`, exactly as for HTTP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


class BadRecord(Exception):
    """The record cannot be submitted at all; the message is the dead-letter reason."""


@dataclass(frozen=True)
class Submission:
    events: list[object]
    sent_at: object = None


def decode(value: bytes | None) -> Submission:
    if value is None:
        raise BadRecord("the record has no value")
    try:
        body = json.loads(value)
    except UnicodeDecodeError:
        raise BadRecord("the record is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadRecord(f"the record is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRecord(f'a record is a JSON object (one event, or {{"rows": [...]}}), got {type(body).__name__}')
    if "rows" in body:
        rows = body["rows"]
        if not isinstance(rows, list):
            raise BadRecord('"rows" must be a list of events')
        return Submission(rows, body.get("sent_at"))
    return Submission([body])
