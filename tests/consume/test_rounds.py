"""Which offsets of a round may be committed: never past a record that is not done."""

from __future__ import annotations

from dataclasses import dataclass

from graphql_service.consume.rounds import Round


@dataclass(frozen=True)
class Rec:
    offset: int


def test_a_partition_is_committed_up_to_its_first_record_not_done() -> None:
    current = Round({("t", 0): [Rec(10), Rec(11), Rec(12)], ("t", 1): [Rec(5)]})
    current.mark_done(("t", 0), 0)
    current.mark_done(("t", 0), 2)  # done out of order: 11 is still under way
    assert current.committable() == {("t", 0): 11}


def test_a_finished_round_commits_past_its_last_record_of_every_partition() -> None:
    current = Round({("t", 0): [Rec(10), Rec(11)], ("t", 1): [Rec(5)]})
    for tp, index, _ in list(current.items()):
        current.mark_done(tp, index)
    assert current.committable() == {("t", 0): 12, ("t", 1): 6}
    assert len(current) == 3


def test_nothing_is_committed_before_a_partition_s_first_record_is_done() -> None:
    current = Round({("t", 0): [Rec(10), Rec(11)]})
    current.mark_done(("t", 0), 1)
    assert current.committable() == {}
