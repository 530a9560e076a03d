"""The pure rules of domain/sessions.py: one winner per half, the write timestamps that let
Cassandra keep that winner by itself, and which index rows list a session."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from graphql_service.domain.events import EventKind
from graphql_service.domain.sessions import (
    EndRow,
    Halves,
    Session,
    StoredEvent,
    completed,
    listed,
    micros,
    version,
    winner,
)

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SID = uuid.UUID(int=7)
PLAYER = "alice"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def start(minutes: int, country: str = "FI", session: uuid.UUID = SID) -> StoredEvent:
    return StoredEvent(session, EventKind.START, at(minutes), country)


def end(minutes: int, session: uuid.UUID = SID) -> StoredEvent:
    return StoredEvent(session, EventKind.END, at(minutes))


def halves(start_min: int | None, end_min: int | None, country: str = "FI") -> Halves:
    return Halves(SID, None if start_min is None else at(start_min), country, None if end_min is None else at(end_min))


def test_the_latest_variant_of_a_half_wins_then_the_larger_country() -> None:
    assert winner([end(30), end(31), end(29)]) == end(31)
    assert winner([start(0, "SE"), start(0, "FI")]) == start(0, "SE")
    assert winner([start(1, "AA"), start(0, "ZZ")]) == start(1, "AA")
    assert winner([]) is None


def test_versions_order_start_variants_as_the_winner_rule_does() -> None:
    variants = [start(0, "ZZ"), start(1, "AA"), start(1, "AB"), start(0, "AA")]
    by_version = max(variants, key=lambda v: version(v.ts, v.country))
    assert by_version == winner(variants)
    assert version(at(0), "AA") == micros(at(0))
    assert version(at(0), "ZZ") < micros(at(0) + timedelta(milliseconds=1))


def test_an_end_row_lists_its_session_when_it_is_the_winning_end_after_the_start() -> None:
    row = EndRow(at(30), SID)

    assert listed(PLAYER, row, halves(0, 30)) == Session(SID, PLAYER, "FI", at(0), at(30))


def test_an_end_row_lists_nothing_without_a_start() -> None:
    assert listed(PLAYER, EndRow(at(30), SID), halves(None, 30)) is None
    assert listed(PLAYER, EndRow(at(30), SID), None) is None


def test_a_losing_end_variant_lists_nothing_so_a_session_is_listed_once() -> None:
    rows = [EndRow(at(31), SID), EndRow(at(30), SID)]
    session = halves(0, 31)

    assert [s.end_ts for r in rows if (s := listed(PLAYER, r, session))] == [at(31)]


def test_an_end_before_its_start_lists_nothing() -> None:
    assert listed(PLAYER, EndRow(at(30), SID), halves(40, 30)) is None
    assert completed(PLAYER, halves(40, 30)) is None


def test_a_session_row_is_complete_with_both_halves_in_order() -> None:
    assert completed(PLAYER, halves(0, 30, "SE")) == Session(SID, PLAYER, "SE", at(0), at(30))
    assert completed(PLAYER, halves(0, None)) is None
    assert completed(PLAYER, halves(None, 30)) is None
    assert completed(PLAYER, halves(30, 30)) is not None  # a zero-length session is valid
