"""Argument checks carry the argument's identity, so each API can name it its own way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from graphql_service.domain.arguments import (
    Argument,
    InvalidArgument,
    checked_hours,
    checked_limit,
    checked_player_id,
    checked_sent_at,
)
from graphql_service.domain.errors import Problem


@pytest.mark.parametrize(
    ("check", "value", "argument"),
    [
        (checked_player_id, "", Argument.PLAYER_ID),
        (checked_limit, 500, Argument.LIMIT),
        (checked_hours, 0, Argument.HOURS),
        (checked_sent_at, "yesterday", Argument.SENT_AT),
    ],
)
def test_a_bad_argument_says_which_argument_it_is(check: object, value: object, argument: Argument) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check(value)  # type: ignore[operator]

    assert caught.value.argument is argument
    assert caught.value.message == f"{argument.value} {caught.value.reason}"


def test_each_api_renders_the_argument_with_its_own_name() -> None:
    error = InvalidArgument(Argument.LIMIT, "must be an integer from 1 to 100")

    message, problems = error.named({Argument.LIMIT: "last"})

    assert message == "last must be an integer from 1 to 100"
    assert problems == [Problem(field="last", message="must be an integer from 1 to 100")]


def test_sent_at_reads_like_any_ts() -> None:
    assert checked_sent_at("2026-11-26T14:00:00+02:00") == datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert checked_sent_at("2026-11-26T12:00:00") == datetime(2026, 11, 26, 12, tzinfo=UTC)
