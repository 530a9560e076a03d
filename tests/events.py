"""Small builders for the events and requests the tests send."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_player(prefix: str = "player") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def start(player: str, session: uuid.UUID, ts: datetime, country: str = "FI") -> dict[str, Any]:
    return {"event": "start", "player_id": player, "session_id": str(session), "ts": iso(ts), "country": country}


def end(player: str, session: uuid.UUID, ts: datetime) -> dict[str, Any]:
    return {"event": "end", "player_id": player, "session_id": str(session), "ts": iso(ts)}


def iso(ts: datetime) -> str:
    """The original data set's format: no offset, meaning UTC."""
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat()


def session_pair(
    player: str, started: datetime, minutes: int = 10, country: str = "FI"
) -> tuple[uuid.UUID, list[dict[str, Any]]]:
    session = uuid.uuid4()
    return session, [
        start(player, session, started, country),
        end(player, session, started + timedelta(minutes=minutes)),
    ]
