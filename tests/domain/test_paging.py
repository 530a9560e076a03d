"""The paging cursor: a round trip of a listing position, and a 400 for anything else."""

from __future__ import annotations

import base64
import struct
import uuid
from datetime import UTC, datetime

import pytest

from graphql_service.domain.errors import InvalidInput
from graphql_service.domain.paging import Position, decode_cursor, encode_cursor

POSITION = Position(datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC), uuid.UUID(int=7))


def _b64(packed: bytes) -> str:
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def test_a_cursor_names_the_position_it_was_made_from() -> None:
    cursor = encode_cursor(POSITION)

    assert len(cursor) == 34
    assert decode_cursor(cursor) == POSITION


def test_positions_before_the_epoch_round_trip_too() -> None:
    old = Position(datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC), uuid.uuid4())

    assert decode_cursor(encode_cursor(old)) == old


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "x",
        "not a cursor at all, not even close",
        "A" * 33,
        "A" * 35,
        "+" * 34,  # standard base64, not base64url
        _b64(struct.pack(">Bq16s", 2, 0, bytes(16))),  # an unknown version
        _b64(struct.pack(">Bq16s", 1, 2**62, bytes(16))),  # beyond any datetime
        _b64(struct.pack(">Bq16s", 1, -(2**62), bytes(16))),
        12345,
        None,
    ],
)
def test_anything_but_a_cursor_we_made_is_bad_input_about_before(cursor: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor)

    assert raised.value.message.startswith("before ")
    assert [p.field for p in raised.value.problems] == ["before"]


def test_a_cursor_with_its_spare_bits_set_is_refused() -> None:
    # Base64url of 25 bytes leaves 2 unused bits in the last character: one position, one cursor.
    cursor = encode_cursor(POSITION)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = cursor[:-1] + alphabet[alphabet.index(cursor[-1]) | 1]

    assert twin != cursor
    with pytest.raises(InvalidInput):
        decode_cursor(twin)
