"""What happened to events and sessions, as reported to observers (metrics, the importer).

Ingest reports `accepted`, `rejected` and `expired`; the fold (the next read of a player)
reports `duplicate`, `completed` and `invalid_session`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Outcome = Literal["accepted", "rejected", "expired", "duplicate", "completed", "invalid_session"]
# Called with what happened to how many events (or sessions, for completed and
# invalid_session). Must not block.
Observe = Callable[[Outcome, int], None]
