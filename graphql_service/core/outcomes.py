"""What happened to events, as reported to observers (metrics, the importer).

Ingest reports `accepted`, `rejected` and `expired`. Whether an accepted event was a
re-delivery, or completed a session, is not known when it is written (ingest never reads)
and is never counted after (reads never write): the session store decides it per cell."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Outcome = Literal["accepted", "rejected", "expired"]
# Called with what happened to how many events. Must not block.
Observe = Callable[[Outcome, int], None]
