"""Paging through a player's listing: the opaque cursor and the page it continues.

A cursor is the clustering position of the last session a page returned, (end_ts,
session_id) of the player's end-ordered index (cql/008), packed as version byte + end time in epoch
milliseconds + the session id's 16 bytes, base64url without padding (34 characters). It
carries no secret and needs none: it only names a place in the listing of the player the
caller names anyway, so a hand-made cursor shows nothing a first page would not.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from .errors import InvalidInput, Problem
from .sessions import Session

_VERSION = 1
_PACKED = struct.Struct(">Bq16s")
_SHAPE = re.compile(r"[A-Za-z0-9_-]{34}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# datetime's own range: a cursor naming a time outside it cannot have come from us.
_MIN_MS = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
_MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True)
class Position:
    """Where a page stopped: the listing row of the last session it returned."""

    end_ts: datetime
    session_id: UUID

    @classmethod
    def after(cls, session: Session) -> Position:
        return cls(session.end_ts, session.session_id)


@dataclass(frozen=True)
class SessionsPage:
    """Sessions newest end first, and the cursor of the next older page (None: no older)."""

    sessions: list[Session]
    next_cursor: str | None


def encode_cursor(position: Position) -> str:
    millis = (position.end_ts - _EPOCH) // timedelta(milliseconds=1)
    return _text(_PACKED.pack(_VERSION, millis, position.session_id.bytes))


def decode_cursor(text: object) -> Position:
    """The position a cursor names; InvalidInput (400, field `before`) for anything else."""
    if not isinstance(text, str) or not _SHAPE.fullmatch(text):
        raise _bad("is not a cursor this service returned (expected 34 characters of base64url)")
    try:
        packed = base64.urlsafe_b64decode(text + "==")
    except (binascii.Error, ValueError):
        raise _bad("is not valid base64url") from None
    version, millis, session_bytes = _PACKED.unpack(packed)
    # The last character carries 2 spare bits: only the canonical spelling is accepted, so
    # one position has one cursor.
    if version != _VERSION or not _MIN_MS <= millis <= _MAX_MS or _text(packed) != text:
        raise _bad("is not a cursor this service returned (unknown version or out of range)")
    return Position(_EPOCH + timedelta(milliseconds=millis), UUID(bytes=session_bytes))


def _text(packed: bytes) -> str:
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def _bad(message: str) -> InvalidInput:
    return InvalidInput(f"before {message}", [Problem(field="before", message=message)])
