"""The pure rules of domain/sessions.py: one winner per half, and what a fold writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from graphql_service.domain.events import EventKind
from graphql_service.domain.sessions import (
    Session,
    SessionRecord,
    StoredEvent,
    Unlisting,
    micros,
    plan_fold,
    records,
    stale_listings,
    version,
    winner,
)

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SID = uuid.UUID(int=7)
PLAYER = "alice"


def start(minutes: int, country: str = "FI", session: uuid.UUID = SID) -> StoredEvent:
    return StoredEvent(session, EventKind.START, T0 + timedelta(minutes=minutes), country)


def end(minutes: int, session: uuid.UUID = SID) -> StoredEvent:
    return StoredEvent(session, EventKind.END, T0 + timedelta(minutes=minutes))


def keys(unlisted: list[Unlisting]) -> list[tuple[uuid.UUID, datetime]]:
    """The listing rows (session, end) an unlisting deletes."""
    return sorted((u.session.session_id, u.session.end_ts) for u in unlisted)


def session(start_min: int, end_min: int, country: str = "FI") -> Session:
    return Session(SID, PLAYER, country, T0 + timedelta(minutes=start_min), T0 + timedelta(minutes=end_min))


def test_the_latest_variant_of_a_half_wins_then_the_larger_country() -> None:
    assert winner([end(30), end(31), end(29)]) == end(31)
    assert winner([start(0, "SE"), start(0, "FI")]) == start(0, "SE")
    assert winner([start(1, "AA"), start(0, "ZZ")]) == start(1, "AA")
    assert winner([]) is None


def test_a_session_is_listed_only_with_both_halves_and_not_ending_before_it_starts() -> None:
    assert SessionRecord(PLAYER, SID, frozenset({start(0)})).listed() is None
    assert SessionRecord(PLAYER, SID, frozenset({start(0), end(30)})).listed() == session(0, 30)
    backwards = SessionRecord(PLAYER, SID, frozenset({start(10), end(5)}))
    assert backwards.complete() == session(10, 5)
    assert backwards.listed() is None


def test_folding_both_halves_lists_the_session_and_counts_it_completed() -> None:
    plan = plan_fold(PLAYER, archived=[], pending=[start(0), end(30)])

    assert plan.listed == [session(0, 30)]
    assert plan.unlisted == []
    assert plan.completed == 1
    assert set(plan.archive) == set(plan.release) == {start(0), end(30)}


def test_a_lone_half_is_archived_and_listed_later_when_the_other_arrives() -> None:
    first = plan_fold(PLAYER, archived=[], pending=[end(30)])
    second = plan_fold(PLAYER, archived=first.archive, pending=[start(0)])

    assert (first.listed, first.completed) == ([], 0)
    assert (second.listed, second.completed) == ([session(0, 30)], 1)


def test_a_re_sent_end_with_another_time_moves_the_listing_instead_of_adding_one() -> None:
    plan = plan_fold(PLAYER, archived=[start(0), end(30)], pending=[end(31)])

    assert plan.listed == [session(0, 31)]
    assert keys(plan.unlisted) == [(SID, T0 + timedelta(minutes=30))]
    assert plan.unlisted[0].version == version(T0, "FI")  # the listing rows' write timestamp
    assert plan.completed == 0


def test_an_earlier_re_sent_end_loses_and_changes_nothing_listed() -> None:
    plan = plan_fold(PLAYER, archived=[start(0), end(30)], pending=[end(29)])

    assert plan.listed == [session(0, 30)]  # rewritten unchanged: repairs a fold that died
    # The loser's row is deleted too, in case a fold that knew less listed it.
    assert keys(plan.unlisted) == [(SID, T0 + timedelta(minutes=29))]
    assert plan.archive == [end(29)]


def test_identical_re_delivery_is_a_duplicate_and_writes_no_new_event() -> None:
    plan = plan_fold(PLAYER, archived=[start(0), end(30)], pending=[start(0), end(30)])

    assert plan.duplicates == 2
    assert plan.archive == []
    assert set(plan.release) == {start(0), end(30)}
    assert plan.completed == 0


def test_an_end_before_its_start_is_reported_once_and_never_listed() -> None:
    first = plan_fold(PLAYER, archived=[start(10)], pending=[end(5)])
    again = plan_fold(PLAYER, archived=[start(10), end(5)], pending=[end(5)])

    assert first.listed == [] and first.invalid == [session(10, 5)]
    assert again.invalid == []


def test_a_later_start_that_makes_a_listed_session_invalid_unlists_it() -> None:
    plan = plan_fold(PLAYER, archived=[start(0), end(30)], pending=[start(40)])

    assert plan.listed == []
    assert keys(plan.unlisted) == [(SID, T0 + timedelta(minutes=30))]
    assert plan.unlisted[0].version == version(T0 + timedelta(minutes=40), "FI")


def test_stale_listings_are_the_rows_that_disagree_with_the_stored_halves() -> None:
    truth = records(PLAYER, [start(0), end(30), end(31)])
    listed = [session(0, 31), session(0, 30)]

    stale = stale_listings(listed, truth)

    assert [u.session for u in stale] == [session(0, 30)]


def test_a_listing_with_the_winning_end_but_an_older_start_is_not_stale() -> None:
    # The next fold overwrites it at a higher version; deleting it could hide the right row.
    truth = records(PLAYER, [start(0), start(5), end(30)])

    assert stale_listings([session(0, 30)], truth) == []


def test_a_better_informed_fold_unlists_what_a_racing_fold_listed() -> None:
    # Fold A saw {start 0, end 30} and listed it; fold B also saw a start after the end.
    a = plan_fold(PLAYER, archived=[], pending=[start(0), end(30)])
    b = plan_fold(PLAYER, archived=[], pending=[start(0), start(40), end(30)])

    assert a.listed == [session(0, 30)]
    assert b.listed == []
    assert keys(b.unlisted) == [(SID, T0 + timedelta(minutes=30))]
    assert b.unlisted[0].version > version(T0, "FI")  # B's delete beats A's row in any order


def test_versions_order_start_variants_as_the_winner_rule_does() -> None:
    assert version(T0, "ZZ") < version(T0 + timedelta(milliseconds=1), "AA")
    assert version(T0, "FI") < version(T0, "SE")
    assert version(T0, "AA") == micros(T0)


def test_a_re_sent_losing_start_is_reported_lost_again() -> None:
    # Ingest wrote the loser's per-country row again; the fold must delete it again.
    plan = plan_fold(PLAYER, archived=[start(0, "FI"), start(5, "SE")], pending=[start(0, "FI")])

    assert plan.lost_starts == [(start(0, "FI"), start(5, "SE"))]
    assert plan.duplicates == 1
