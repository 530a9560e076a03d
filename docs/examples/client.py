"""A Python client of the player session service: standard library only (Python 3.11+).

    python client.py http://127.0.0.1:8000 [API_KEY]

plays one 30-minute session for a new player, sends its two events and prints the player's
sessions read back over GraphQL, as one JSON object.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_BATCH = 10  # the service takes 1 to 10 events per request
MAX_ATTEMPTS = 6


def utc(moment: datetime) -> str:
    """A timestamp the service reads exactly: UTC, with its offset."""
    return moment.astimezone(UTC).isoformat()


class ServiceError(Exception):
    """The service refused a request (a 4xx: retrying would not help) or stayed unavailable."""


class SessionClient:
    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the service's URL must be http:// or https://, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.headers = {"X-API-Key": api_key} if api_key else {}
        self.pending: list[dict[str, Any]] = []

    def start(self, player_id: str, session_id: uuid.UUID, at: datetime, country: str) -> None:
        self.pending.append(
            {"event": "start", "player_id": player_id, "session_id": str(session_id), "ts": utc(at), "country": country}
        )

    def end(self, player_id: str, session_id: uuid.UUID, at: datetime) -> None:
        self.pending.append({"event": "end", "player_id": player_id, "session_id": str(session_id), "ts": utc(at)})

    def flush(self) -> dict[str, int]:
        """Send every pending event, at most MAX_BATCH per request; the totals of what was stored."""
        totals = {"accepted": 0, "expired": 0}
        while self.pending:
            batch = self.pending[:MAX_BATCH]
            answer = self._post_events(batch)
            del self.pending[: len(batch)]  # only once the service has taken them
            for key in totals:
                totals[key] += answer[key]
        return totals

    def _post_events(self, batch: list[dict[str, Any]]) -> dict[str, int]:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            # sent_at is this device's clock as the request leaves: the service corrects every
            # ts by the difference to its own clock, so a device with a wrong clock still counts.
            body = json.dumps({"rows": batch, "sent_at": utc(datetime.now(UTC))}).encode()
            headers = {
                **self.headers,
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "Accept": "application/json",  # {"accepted": n, "expired": m} instead of "POST success"
            }
            url = f"{self.base_url}/events"
            request = urllib.request.Request(url, gzip.compress(body), headers, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) only, see __init__
                    answer: dict[str, int] = json.load(response)
                    return answer
            except urllib.error.HTTPError as error:
                if error.code != 503:
                    raise ServiceError(f"POST /events: {error.code} {error.read().decode()}") from error
                # Cassandra is unavailable. Every write is idempotent, so the whole batch is sent again.
                delay = _retry_delay(error.headers.get("Retry-After"), attempt)
            except urllib.error.URLError:
                delay = _retry_delay(None, attempt)  # no answer at all: also safe to send again
            if attempt < MAX_ATTEMPTS:
                time.sleep(delay)
        raise ServiceError(f"POST /events: still unavailable after {MAX_ATTEMPTS} attempts")

    def sessions(self, player_id: str, last: int = 20) -> list[dict[str, Any]]:
        """The player's last complete sessions, newest first, over GraphQL."""
        query = """query Sessions($id: ID!, $last: Int!) {
          player(id: $id) { sessions(last: $last) { sessionId country startTs endTs durationSeconds } }
        }"""
        body = json.dumps({"query": query, "variables": {"id": player_id, "last": last}}).encode()
        headers = {**self.headers, "Content-Type": "application/json"}
        request = urllib.request.Request(f"{self.base_url}/graphql", body, headers, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) only, see __init__
            answer = json.load(response)
        if answer.get("errors"):
            raise ServiceError(f"GraphQL: {answer['errors']}")
        sessions: list[dict[str, Any]] = answer["data"]["player"]["sessions"]
        return sessions


def _retry_delay(retry_after: str | None, attempt: int) -> float:
    """Exponential backoff with jitter, never sooner than the service's Retry-After."""
    backoff = min(30.0, 0.5 * 2.0 ** (attempt - 1))
    backoff *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter spreads retries, it guards nothing
    if retry_after is not None and retry_after.isdigit():
        return max(float(retry_after), backoff)
    return backoff


def main(base_url: str, api_key: str | None = None) -> None:
    client = SessionClient(base_url, api_key)
    player, session = f"py-{uuid.uuid4().hex[:12]}", uuid.uuid4()
    ended = datetime.now(UTC)
    client.start(player, session, ended - timedelta(minutes=30), "FI")
    client.end(player, session, ended)
    stored = client.flush()
    print(json.dumps({"player_id": player, "stored": stored, "sessions": client.sessions(player)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
