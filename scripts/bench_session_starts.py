"""Does "session starts per country, last X hours" stay flat as sessions grow?

Loads 10k, then 50k, 100k and 200k session starts spread over the last 23.5 hours (20
countries, uneven shares) into a scratch keyspace through the same SessionStarts.record
the service uses, and after each step times the 24-hour and 7-day queries: the first
query after loading (it recounts every bucket the load touched: a worst case, since the
load is all "late" starts) and then the steady state (median and p95 of repeated
queries). Checks every answer's total against what was loaded.

    .venv/bin/python scripts/bench_session_starts.py [--steps 10000,50000,100000,200000]

Needs the local node (`make cassandra`) or CASSANDRA_CONTACT_POINTS. Drops and recreates
the keyspace `bench_session_starts`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import timedelta

from graphql_service.core.starts import MARK_AHEAD, STALE_MARGIN, SessionStarts
from graphql_service.domain.events import Event, EventKind, utc_now
from graphql_service.domain.retention import Retention
from graphql_service.settings import Settings
from graphql_service.store import backends, migrations
from graphql_service.store.starts import SessionStartsRepository

COUNTRIES = [f"{a}{b}" for a, b in zip("ABCDEFGHIJKLMNOPQRST", "ZYXWVUTSRQPONMLKJIHG", strict=True)]
WEIGHTS = [1 / (rank + 1) for rank in range(len(COUNTRIES))]


async def load(starts: SessionStarts, count: int, concurrency: int = 200) -> float:
    now = utc_now()
    gate = asyncio.Semaphore(concurrency)
    rng = random.Random(count)  # noqa: S311 - synthetic data, not secrets

    async def one() -> None:
        ts = now - timedelta(seconds=rng.uniform(60, 23.5 * 3600))
        country = rng.choices(COUNTRIES, WEIGHTS)[0]
        player = f"bench-{rng.randrange(10**9)}"
        event = Event(EventKind.START, player, uuid.uuid4(), ts.replace(microsecond=0), country)
        async with gate:
            await starts.record(event, now)

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - began


async def timed(starts: SessionStarts, hours: int) -> tuple[float, int]:
    began = time.perf_counter()
    _, _, ranked = await starts.count(hours)
    return (time.perf_counter() - began) * 1000, sum(n for _, n in ranked)


async def main(steps: list[int], repeats: int) -> None:
    settings = Settings.from_env().with_overrides(keyspace="bench_session_starts")
    db = await backends.connect(settings)
    await migrations.drop_keyspace(db, settings.keyspace)
    await migrations.apply(db, settings)
    repo = await SessionStartsRepository.create(db, settings.keyspace)
    starts = SessionStarts(repo, Retention.from_settings(settings).time_to_live)
    print("| starts in window | load (starts/s) | window | first query (ms) | steady median (ms) | steady p95 (ms) |")
    print("|---:|---:|---|---:|---:|---:|")
    loaded = 0
    try:
        for target in steps:
            seconds = await load(starts, target - loaded)
            rate = (target - loaded) / seconds
            loaded = target
            # Buckets written in the last MARK_AHEAD + STALE_MARGIN seconds are recounted
            # by every query (that margin is what makes the counts safe); a backfill of
            # late starts is not live traffic, so let it settle before timing.
            await asyncio.sleep((MARK_AHEAD + STALE_MARGIN).total_seconds())
            for hours in (24, 168):
                first_ms, total = await timed(starts, hours)
                assert total == loaded, f"{hours}h window counted {total}, loaded {loaded}"
                samples = []
                for _ in range(repeats):
                    ms, total = await timed(starts, hours)
                    assert total == loaded
                    samples.append(ms)
                p95 = statistics.quantiles(samples, n=20)[-1]
                print(
                    f"| {loaded:,} | {rate:,.0f} | {hours} h | {first_ms:,.1f} | "
                    f"{statistics.median(samples):,.1f} | {p95:,.1f} |",
                    flush=True,
                )
    finally:
        await migrations.drop_keyspace(db, settings.keyspace)
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="10000,50000,100000,200000")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main([int(s) for s in args.steps.split(",")], args.repeats))
