"""The validation and retention rules, as pure functions (no Cassandra needed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphql_service.domain.errors import InvalidInput
from graphql_service.domain.events import MAX_PLAYER_ID_LENGTH, EventKind, format_timestamp, validate_batch
from graphql_service.domain.retention import Retention
from graphql_service.domain.sessions import Session

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

player_ids = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=MAX_PLAYER_ID_LENGTH)
countries = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=2, max_size=2)
past_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=NOW.replace(tzinfo=None))


@st.composite
def raw_events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["start", "end"]))
    event: dict[str, Any] = {
        "event": kind,
        "player_id": draw(player_ids),
        "session_id": str(draw(st.uuids())),
        "ts": draw(past_times).isoformat(),
    }
    if kind == "start":
        event["country"] = draw(countries)
    return event


def validate(events: list[Any]) -> list[Any]:
    return validate_batch(events, NOW, DAY)


@given(st.lists(raw_events(), min_size=1, max_size=10))
def test_valid_events_are_accepted_as_sent(events: list[dict[str, Any]]) -> None:
    # Pairs of one session in one batch must not end before they start; keep ids unique.
    for event in events:
        event["session_id"] = str(uuid.uuid4())

    parsed = validate(events)

    assert [(e.kind.value, e.player_id, str(e.session_id)) for e in parsed] == [
        (e["event"], e["player_id"], e["session_id"]) for e in events
    ]
    for raw, event in zip(events, parsed, strict=True):
        assert event.ts.tzinfo is UTC
        assert abs(event.ts.replace(tzinfo=None) - datetime.fromisoformat(raw["ts"])) < timedelta(milliseconds=1)
        assert event.country == (raw["country"].upper() if raw["event"] == "start" else None)


BAD_VALUES = {
    "event": st.sampled_from(["START", "stop", "", 1, None]),
    "player_id": st.sampled_from(["", "x" * (MAX_PLAYER_ID_LENGTH + 1), "a\nb", "\x00", 7, None]),
    "session_id": st.sampled_from(["", "123", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", 5, None]),
    "ts": st.sampled_from(["", "26/11/2026", "2026-13-01T00:00:00", 1_700_000_000, None, "2027-01-01T00:00:00"]),
}


@given(
    st.lists(raw_events(), min_size=1, max_size=10),
    st.data(),
)
def test_any_bad_field_rejects_the_whole_batch_and_is_named(events: list[dict[str, Any]], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(events) - 1))
    field = data.draw(st.sampled_from(sorted(BAD_VALUES)))
    events[index][field] = data.draw(BAD_VALUES[field])

    with pytest.raises(InvalidInput) as caught:
        validate(events)

    assert (index, field) in {(p.index, p.field) for p in caught.value.problems}


@given(st.integers(min_value=11, max_value=50))
def test_batches_over_ten_are_rejected(count: int) -> None:
    event = {"event": "end", "player_id": "p", "session_id": str(uuid.uuid4()), "ts": "2026-01-01T00:00:00"}

    with pytest.raises(InvalidInput, match="1 to 10"):
        validate([event] * count)


def test_an_empty_batch_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="1 to 10"):
        validate([])


def test_country_is_ignored_on_end_events() -> None:
    [event] = validate(
        [
            {
                "event": "end",
                "player_id": "p",
                "session_id": str(uuid.uuid4()),
                "ts": "2026-01-01T00:00:00",
                "country": "nonsense",
            }
        ]
    )

    assert event.kind is EventKind.END
    assert event.country is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-12-02T05:36:16", datetime(2016, 12, 2, 5, 36, 16, tzinfo=UTC)),
        ("2016-12-02T12:48:05.520022", datetime(2016, 12, 2, 12, 48, 5, 520000, tzinfo=UTC)),
        ("2016-12-02T12:48:05Z", datetime(2016, 12, 2, 12, 48, 5, tzinfo=UTC)),
        ("2016-12-02T14:48:05+02:00", datetime(2016, 12, 2, 12, 48, 5, tzinfo=UTC)),
    ],
)
def test_timestamps_without_offset_mean_utc(text: str, expected: datetime) -> None:
    [event] = validate([{"event": "end", "player_id": "p", "session_id": str(uuid.uuid4()), "ts": text}])

    assert event.ts == expected


def test_more_than_a_day_in_the_future_is_invalid_but_a_day_is_fine() -> None:
    def at(ts: datetime) -> list[object]:
        return [{"event": "end", "player_id": "p", "session_id": str(uuid.uuid4()), "ts": ts.isoformat()}]

    assert validate(at(NOW + DAY))
    with pytest.raises(InvalidInput, match="future"):
        validate(at(NOW + DAY + timedelta(seconds=1)))


@given(
    event_age=st.integers(min_value=-86_400, max_value=3 * 365 * 86_400),
    retention=st.integers(min_value=1, max_value=2 * 365 * 86_400),
)
def test_ttl_is_what_is_left_of_retention_counted_from_the_event(event_age: int, retention: int) -> None:
    ttl = Retention(retention).time_to_live(NOW - timedelta(seconds=event_age), NOW)

    if event_age >= retention:
        assert ttl is None
    else:
        assert ttl == retention - event_age


@given(event_age=st.integers(min_value=0, max_value=10 * 365 * 86_400))
def test_ingestion_clock_always_gives_the_full_period(event_age: int) -> None:
    assert Retention(3600, "ingestion").time_to_live(NOW - timedelta(seconds=event_age), NOW) == 3600


@given(st.datetimes(), st.integers(min_value=0, max_value=10**7))
def test_duration_is_end_minus_start(started: datetime, seconds: int) -> None:
    begun = started.replace(tzinfo=UTC)
    try:
        ended = begun + timedelta(seconds=seconds)
    except OverflowError:
        return
    session = Session(uuid.uuid4(), "p", "FI", begun, ended)

    assert session.duration_seconds == seconds


def test_a_shift_moves_every_ts_before_the_future_check() -> None:
    three_days = timedelta(days=3)
    sent = [{"event": "end", "player_id": "p", "session_id": str(uuid.uuid4()), "ts": (NOW + three_days).isoformat()}]

    [event] = validate_batch(sent, NOW, DAY, shift=-three_days)

    assert event.ts == NOW
    with pytest.raises(InvalidInput, match="future"):
        validate(sent)


def test_a_shift_past_the_calendar_is_a_problem_not_a_crash() -> None:
    sent = [{"event": "end", "player_id": "p", "session_id": str(uuid.uuid4()), "ts": "9999-12-31T00:00:00"}]

    with pytest.raises(InvalidInput, match=r"events\[0\]\.ts is out of range"):
        validate_batch(sent, NOW, DAY, shift=timedelta(days=2))


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 14, 0, 0, 999, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 11, 26, 12, 0),  # naive: UTC, as in every input
    ],
)
def test_every_answer_has_one_timestamp_form(instant: datetime) -> None:
    assert format_timestamp(instant) == "2026-11-26T12:00:00.000+00:00"


def test_milliseconds_are_kept_and_finer_digits_dropped() -> None:
    assert format_timestamp(datetime(2026, 11, 26, 12, 0, 5, 520_999, tzinfo=UTC)) == "2026-11-26T12:00:05.520+00:00"


def test_csharp_round_trip_timestamps_with_seven_digits_are_read() -> None:
    # DateTime.UtcNow.ToString("o"), the form the README advises for C# clients.
    [event] = validate(
        [{"event": "end", "player_id": "p", "session_id": str(uuid.uuid4()), "ts": "2026-11-26T11:59:59.1234567Z"}]
    )

    assert event.ts == datetime(2026, 11, 26, 11, 59, 59, 123000, tzinfo=UTC)
