"""Read-side domain functions shared by the REST shims and the GraphQL resolvers."""

from __future__ import annotations

from .domain import InvalidInput, Problem, Session, check_limit, check_player_id
from .repository import SessionRepository


def checked_player_id(value: object) -> str:
    try:
        return check_player_id(value)
    except ValueError as exc:
        raise InvalidInput(f"player_id {exc}", [Problem(field="player_id", message=str(exc))]) from None


def checked_limit(value: object) -> int:
    try:
        return check_limit(value)
    except ValueError as exc:
        raise InvalidInput(f"limit {exc}", [Problem(field="limit", message=str(exc))]) from None


async def recent_sessions(repo: SessionRepository, player_id: object, limit: object = None) -> list[Session]:
    """The player's last `limit` complete sessions, newest end first."""
    return await repo.recent_sessions(checked_player_id(player_id), checked_limit(limit))
