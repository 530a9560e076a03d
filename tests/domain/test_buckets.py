"""Cutting a window into minute, hour and day buckets (pure)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphql_service.domain.buckets import SIZE, Bucket, Level, buckets_of, decompose, floor, window

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
