"""How long a stored row may live: until its event is RETENTION_SECONDS old (or the full
period from ingestion, for replays of historic data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..settings import MAX_TTL_SECONDS, RetentionClock, Settings


@dataclass(frozen=True)
class Retention:
    seconds: int
    clock: RetentionClock = "event"

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(seconds=settings.retention_seconds, clock=settings.retention_clock)

    def time_to_live(self, event_ts: datetime, now: datetime) -> int | None:
        """Seconds a row about this event may live; None when it is already past retention.

        By event time (the default) a row lives until its event is `seconds` old, so an
        event from 11 months ago is kept for one more month. By ingestion time every
        row lives the full period (for replaying historic data sets).
        """
        if self.clock == "ingestion":
            return self.seconds
        remaining = int((event_ts + timedelta(seconds=self.seconds) - now).total_seconds())
        if remaining < 1:
            return None
        # An event up to MAX_FUTURE_SECONDS ahead could ask for more than Cassandra's 20 years.
        return min(remaining, MAX_TTL_SECONDS)
