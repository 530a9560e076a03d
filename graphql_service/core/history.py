"""A player's history as the store holds it: the last N complete sessions, a page of them,
and the totals. Reads only: whatever arrived since the last read, nothing is written.

The end-ordered index (one row per end variant) is read newest first, then the session rows
it names with one `IN`; a row is listed while it is its session's winning end and the start
is there and not after it (domain/sessions.py `listed`). Almost every index row lists a
session, so the last 20 are two statements. Rows that list nothing (an end re-sent with
another time, an end whose start has not arrived, an end before its start) cost more reads,
but never more than SCAN_MAX_ROWS index rows for one answer, whatever one client sent under
one player id: an answer cut there says so (`History.page` returns where it stopped, so the
next page continues from there).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.sessions import EndRow, PlayerStats, Session, completed, listed
from ..store.sessions import SessionRepository

# Index rows one answer reads at most (a page of 128 sessions reads 256 in its first round).
SCAN_MAX_ROWS = 2_000
# The first round reads this many index rows for each session asked for: a few losing or
# unpaired ends among the newest do not cost a second round.
FIRST_ROUND_FACTOR = 2
FIRST_ROUND_MIN = 8


@dataclass(frozen=True)
class Found:
    """Sessions in listing order, and whether the scan stopped at SCAN_MAX_ROWS with more
    index rows left (`stopped_at`: the last row it read, where the next page goes on)."""

    sessions: list[Session]
    stopped_at: EndRow | None = None


class History:
    def __init__(self, repo: SessionRepository) -> None:
        self._repo = repo

    async def listed(self, player_id: str, count: int, after: EndRow | None = None) -> Found:
        """The first `count` listed sessions after `after` (None: the newest)."""
        found: list[Session] = []
        position = after
        scanned = 0
        size = max(FIRST_ROUND_FACTOR * count, FIRST_ROUND_MIN)
        while True:
            size = min(size, SCAN_MAX_ROWS - scanned)
            rows = await self._repo.ends(player_id, position, size)
            scanned += len(rows)
            if rows:
                halves = await self._repo.halves(player_id, [r.session_id for r in rows])
                for row in rows:
                    session = listed(player_id, row, halves.get(row.session_id))
                    if session is not None:
                        found.append(session)
                        if len(found) == count:
                            return Found(found)
                position = rows[-1]
            if len(rows) < size:
                return Found(found)  # the index has nothing older
            if scanned >= SCAN_MAX_ROWS:
                return Found(found, stopped_at=position)
            # Many rows that list nothing: read on in larger steps.
            size *= 4

    async def stats(self, player_id: str) -> PlayerStats:
        halves, more = await self._repo.all_halves(player_id)
        sessions = [s for h in halves if (s := completed(player_id, h)) is not None]
        return PlayerStats.of(sessions, truncated=more)
