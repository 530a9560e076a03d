"""Cutting a window into minute, hour and day buckets (pure)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphql_service.domain.buckets import SIZE, Bucket, Level, buckets_of, decompose, floor, series_pieces, window

minutes = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1)).map(
    lambda t: t.replace(second=0, microsecond=0, tzinfo=UTC)
)


@given(start=minutes, length=st.integers(min_value=1, max_value=8760 * 60))
def test_decomposition_covers_the_window_exactly_with_aligned_buckets(start: datetime, length: int) -> None:
    end = start + timedelta(minutes=length)

    buckets = decompose(start, end)

    assert buckets[0].start == start and buckets[-1].end == end
    for before, after in itertools.pairwise(buckets):
        assert before.end == after.start
    for bucket in buckets:
        assert floor(bucket.level, bucket.start) == bucket.start


@given(start=minutes, hours=st.integers(min_value=1, max_value=8760))
def test_a_window_needs_few_buckets_whatever_its_size(start: datetime, hours: int) -> None:
    buckets = decompose(start, start + timedelta(hours=hours))

    assert sum(b.level is Level.MINUTE for b in buckets) <= 2 * 59
    assert sum(b.level is Level.HOUR for b in buckets) <= 2 * 23
    assert sum(b.level is Level.DAY for b in buckets) <= hours // 24 + 1


def test_the_window_ends_with_the_current_minute() -> None:
    now = datetime(2026, 11, 26, 12, 34, 56, tzinfo=UTC)

    assert window(2, now) == (datetime(2026, 11, 26, 10, 35, tzinfo=UTC), datetime(2026, 11, 26, 12, 35, tzinfo=UTC))


def test_a_start_counts_in_its_minute_hour_and_day() -> None:
    t = datetime(2026, 11, 26, 12, 34, 56, tzinfo=UTC)

    assert buckets_of(t) == [
        Bucket(Level.MINUTE, datetime(2026, 11, 26, 12, 34, tzinfo=UTC)),
        Bucket(Level.HOUR, datetime(2026, 11, 26, 12, tzinfo=UTC)),
        Bucket(Level.DAY, datetime(2026, 11, 26, tzinfo=UTC)),
    ]


def test_partitions_are_hour_day_and_month() -> None:
    t = datetime(2026, 11, 26, 12, 34, tzinfo=UTC)

    assert Bucket(Level.MINUTE, t).partition == datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert Bucket(Level.HOUR, floor(Level.HOUR, t)).partition == datetime(2026, 11, 26, tzinfo=UTC)
    assert Bucket(Level.DAY, floor(Level.DAY, t)).partition == datetime(2026, 11, 1, tzinfo=UTC)
    assert Bucket(Level.DAY, floor(Level.DAY, t)).end - Bucket(Level.DAY, floor(Level.DAY, t)).start == SIZE[Level.DAY]


def test_ragged_windows_are_refused() -> None:
    t = datetime(2026, 11, 26, 12, 34, 30, tzinfo=UTC)

    with pytest.raises(ValueError, match="whole minutes"):
        decompose(t, t + timedelta(hours=1))


@given(
    start=minutes, length=st.integers(min_value=1, max_value=1000 * 60), step=st.sampled_from([Level.HOUR, Level.DAY])
)
def test_a_series_cuts_the_window_into_aligned_buckets_that_cover_it_exactly(
    start: datetime, length: int, step: Level
) -> None:
    end = start + timedelta(minutes=length)

    pieces = series_pieces(step, start, end)

    assert [at for at, _ in pieces] == sorted(at for at, _ in pieces)
    assert pieces[0][1].start == start and pieces[-1][1].end == end
    for (_, before), (_, after) in itertools.pairwise(pieces):
        assert before.end == after.start
    for at, bucket in pieces:
        assert floor(step, at) == at
        assert at <= bucket.start and bucket.end <= at + SIZE[step]


def test_whole_hours_and_days_of_a_series_are_single_stored_buckets() -> None:
    start = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    end = datetime(2026, 11, 26, 1, 15, tzinfo=UTC)

    hourly = series_pieces(Level.HOUR, start, end)
    daily = series_pieces(Level.DAY, start, end)

    assert hourly[0] == (datetime(2026, 11, 24, 22, tzinfo=UTC), Bucket(Level.MINUTE, start))
    assert (
        datetime(2026, 11, 24, 23, tzinfo=UTC),
        Bucket(Level.HOUR, datetime(2026, 11, 24, 23, tzinfo=UTC)),
    ) in hourly
    assert len({at for at, _ in hourly}) == 28  # 22:xx, 23:00, 24 hours of the 25th, 00:00, 01:xx
    assert (datetime(2026, 11, 25, tzinfo=UTC), Bucket(Level.DAY, datetime(2026, 11, 25, tzinfo=UTC))) in daily
    assert sorted({at for at, _ in daily}) == [datetime(2026, 11, d, tzinfo=UTC) for d in (24, 25, 26)]
