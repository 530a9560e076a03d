"""Time buckets for counting session starts: minutes roll up into hours, hours into days.

Pure functions. A window of whole minutes is cut into the fewest aligned buckets that
cover it exactly (edge minutes, edge hours, then whole days), so counting a window costs
about (days + 2 * 23 hours + 2 * 59 minutes) * countries rows, whatever the number of
sessions in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Level(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


SIZE = {Level.MINUTE: timedelta(minutes=1), Level.HOUR: timedelta(hours=1), Level.DAY: timedelta(days=1)}
# Largest first: decomposition prefers the coarsest bucket that fits.
LEVELS = (Level.DAY, Level.HOUR, Level.MINUTE)
CHILD = {Level.HOUR: Level.MINUTE, Level.DAY: Level.HOUR}
PARENT = {Level.MINUTE: Level.HOUR, Level.HOUR: Level.DAY}


@dataclass(frozen=True, order=True)
class Bucket:
    level: Level
    start: datetime

    @property
    def end(self) -> datetime:
        return self.start + SIZE[self.level]

    @property
    def partition(self) -> datetime:
        """The key of the partition holding this bucket's rows: its hour for a minute,
        its day for an hour, its month for a day (≤ 60, 24 or 31 buckets a partition)."""
        return partition_of(self.level, self.start)


def floor(level: Level, t: datetime) -> datetime:
    if t.tzinfo is not UTC:  # validated event times already are: skip the conversion
        t = t.astimezone(UTC)
    if level is Level.MINUTE:
        return t.replace(second=0, microsecond=0)
    if level is Level.HOUR:
        return t.replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def partition_of(level: Level, start: datetime) -> datetime:
    if level is Level.DAY:
        return floor(Level.DAY, start).replace(day=1)
    return floor(PARENT[level], start)


def buckets_of(t: datetime) -> list[Bucket]:
    """The minute, hour and day a start at `t` counts in."""
    return [Bucket(level, floor(level, t)) for level in (Level.MINUTE, Level.HOUR, Level.DAY)]


def children(bucket: Bucket) -> tuple[Level, datetime]:
    """(child level, partition) where the buckets that make up `bucket` live."""
    return CHILD[bucket.level], bucket.start


def decompose(start: datetime, end: datetime) -> list[Bucket]:
    """The fewest aligned buckets covering [start, end) exactly; both ends whole minutes."""
    if floor(Level.MINUTE, start) != start or floor(Level.MINUTE, end) != end:
        raise ValueError("window edges must be whole minutes")
    out: list[Bucket] = []
    t = start
    while t < end:
        for level in LEVELS:
            if floor(level, t) == t and t + SIZE[level] <= end:
                out.append(Bucket(level, t))
                t += SIZE[level]
                break
    return out


def window(hours: int, now: datetime) -> tuple[datetime, datetime]:
    """The `hours` ending with the current minute, edges rounded to whole minutes."""
    end = floor(Level.MINUTE, now) + SIZE[Level.MINUTE]
    return end - timedelta(hours=hours), end


def series_pieces(step: Level, start: datetime, end: datetime) -> list[tuple[datetime, Bucket]]:
    """(series bucket start, bucket) for a series of `step` buckets over [start, end): each
    UTC-aligned hour or day the window touches, cut where the window cuts it, so the
    series sums to exactly the window's count. Stored buckets are reused as they are: a
    whole day of a daily series is one day row, an hour of an hourly series one hour row."""
    pieces: list[tuple[datetime, Bucket]] = []
    t = floor(step, start)
    while t < end:
        low, high = max(t, start), min(t + SIZE[step], end)
        pieces.extend((t, bucket) for bucket in decompose(low, high))
        t += SIZE[step]
    return pieces
