#!/usr/bin/env python3
"""The raw ceiling of one storage backend for the service's own statement mix, no HTTP.

    .venv/bin/python bench/raw_ceiling.py --driver acsylla --seconds 30 [--keyspace bench_x] [--drop-keyspace]

Connects through the project's storage protocol (`graphql_service.store.backends.connect`),
applies the migrations to the keyspace, prepares the service's statements with its own
repositories (`SessionRepository`, `SessionStartsRepository`), and then issues, straight
from the driver, exactly what `core.ingest.Ingest` issues for the benchmark load:

  per 10-event batch (5 starts of new sessions + the 5 ends of the previous batch's sessions)
    10 x write_event               (every event, pending row of session_events_by_player)
     5 x insert_session_start      (every start, session_starts_by_minute), concurrently with
                                   the start's write_event, as Ingest._store does

= 15 statements per 10 events = 1.5 statements per event. The bucket marks a start also
writes (mark_start_bucket) are coalesced per bucket and process (about one per bucket every
2 s) and left out. No validation, no JSON, no HTTP: what the driver and the node can do.

`--in-flight` (128) statements are kept in flight with an asyncio semaphore around every
statement, fed by as many lanes (an event's statements run in their real order within a
lane). After `--warmup` seconds (not counted) the statements completed in the next
`--seconds` are counted. Prints ONE JSON line on stdout:

  {"bench":"raw_ceiling","driver":…,"statements_per_s":…,"events_per_s_equiv":…,
   "statements_per_event":1.5,"mix":{statement: count},"errors":{…},"latency_ms":{…},
   "client_cpu_share":…}

`events_per_s_equiv` = statements_per_s / 1.5. `client_cpu_share` is this process's CPU
time / wall time over the window (1.0 = one core busy): near 1.0 means the Python client,
not Cassandra, is the limit. Exit status 1 when any statement failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run with the service's virtualenv from anywhere: the package is the checkout's.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graphql_service.core.starts import shard_of
from graphql_service.domain.buckets import Level, floor
from graphql_service.domain.events import Event, EventKind, to_utc_millis
from graphql_service.domain.retention import Retention
from graphql_service.settings import Settings
from graphql_service.store import backends, migrations
from graphql_service.store.sessions import SessionRepository
from graphql_service.store.starts import SessionStartsRepository

STATEMENTS_PER_EVENT = 1.5
STARTS_PER_BATCH = 5
# The countries of bench/lua/ingest.lua, with its weights.
COUNTRIES = (
    ["US"] * 18
    + ["BR"] * 9
    + ["DE"] * 8
    + ["IN"] * 8
    + ["JP"] * 7
    + ["GB"] * 7
    + ["FR"] * 6
    + ["KR"] * 6
    + ["MX"] * 5
    + ["CA"] * 4
    + ["ES"] * 4
    + ["IT"] * 4
    + ["PL"] * 3
    + ["SE"] * 3
    + ["FI"] * 2
    + ["AU"] * 3
    + ["TR"] * 3
)


class Load:
    """The events of the wrk ingest load, batch after batch: 5 starts of new sessions (start
    ts = now - 30 min - 0..10 s), then the ends of the previous batch's 5 (1..28 min later)."""

    def __init__(self, prefix: str, players: int, rng: random.Random) -> None:
        self._prefix, self._players, self._rng = prefix, players, rng
        self._queue: list[Event] = []
        self._previous: list[Event] = []

    def _refill(self) -> None:
        rng, now = self._rng, datetime.now(UTC)
        starts = []
        for _ in range(STARTS_PER_BATCH):
            ts = to_utc_millis(now - timedelta(minutes=30, milliseconds=rng.randint(0, 10_000)))
            player = f"{self._prefix}-{rng.randint(1, self._players)}"
            sid = uuid.UUID(int=rng.getrandbits(128), version=4)
            starts.append(Event(EventKind.START, player, sid, ts, rng.choice(COUNTRIES)))
        ends = [
            Event(EventKind.END, s.player_id, s.session_id, s.ts + timedelta(seconds=self._rng.randint(60, 28 * 60)))
            for s in self._previous
        ]
        self._previous = starts
        self._queue = starts + ends
        rng.shuffle(self._queue)

    def next(self) -> Event:
        if not self._queue:
            self._refill()
        return self._queue.pop()


def percentile(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(args: argparse.Namespace) -> dict[str, object]:
    settings = Settings.from_env().with_overrides(driver=args.driver, keyspace=args.keyspace)
    db = await backends.connect(settings)
    try:
        await migrations.apply(db, settings)
        repo, starts_repo = await asyncio.gather(
            SessionRepository.create(db, settings.keyspace), SessionStartsRepository.create(db, settings.keyspace)
        )
        retention = Retention.from_settings(settings)
        done: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        latencies: list[float] = []
        counting = False

        def observe(name: str, seconds: float, error: BaseException | None) -> None:
            done[name] += 1
            if error is not None:
                errors[f"{name}:{type(error).__name__}"] += 1
            elif counting:
                latencies.append(seconds)

        db.observers.append(observe)
        gate = asyncio.Semaphore(args.in_flight)
        load = Load(args.prefix, args.players, random.Random(args.seed))  # noqa: S311 - synthetic load
        stop = False

        async def limited(statement):  # type: ignore[no-untyped-def]
            async with gate:
                return await statement

        async def lane() -> None:
            while not stop:
                event = load.next()
                now = datetime.now(UTC)
                ttl = retention.time_to_live(event.ts, now)
                assert ttl is not None
                try:
                    if event.kind is EventKind.END:
                        await limited(repo.write_event(event, ttl, now))
                        continue
                    minute = floor(Level.MINUTE, event.ts)
                    await asyncio.gather(
                        limited(repo.write_event(event, ttl, now)),
                        limited(starts_repo.insert_start(minute, shard_of(event.session_id), event, ttl)),
                    )
                except Exception:  # counted by the observer; keep the load going
                    await asyncio.sleep(0.01)

        lanes = [asyncio.ensure_future(lane()) for _ in range(args.in_flight)]
        await asyncio.sleep(args.warmup)
        before, wall0, cpu0 = Counter(done), time.perf_counter(), time.process_time()
        counting = True
        await asyncio.sleep(args.seconds)
        after, wall1, cpu1 = Counter(done), time.perf_counter(), time.process_time()
        counting = False
        stop = True
        await asyncio.gather(*lanes)
        if args.drop_keyspace:
            await migrations.drop_keyspace(db, settings.keyspace)
    finally:
        await db.close()

    mix = {name: after[name] - before[name] for name in sorted(after) if after[name] - before[name]}
    statements = sum(mix.values())
    elapsed = wall1 - wall0
    per_s = statements / elapsed
    latencies.sort()
    return {
        "bench": "raw_ceiling",
        "label": args.label or f"raw-{args.driver}",
        "driver": args.driver,
        "keyspace": args.keyspace,
        "in_flight": args.in_flight,
        "seconds": round(elapsed, 2),
        "statements": statements,
        "statements_per_s": round(per_s, 1),
        "statements_per_event": STATEMENTS_PER_EVENT,
        "events_per_s_equiv": round(per_s / STATEMENTS_PER_EVENT, 1),
        "mix": mix,
        "errors": dict(errors),
        "latency_ms": {
            "p50": round((percentile(latencies, 0.50) or 0) * 1000, 3),
            "p99": round((percentile(latencies, 0.99) or 0) * 1000, 3),
            "max": round((latencies[-1] if latencies else 0) * 1000, 3),
        },
        "client_cpu_share": round((cpu1 - cpu0) / elapsed, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--driver", choices=["acsylla", "cassandra-driver"], required=True)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds (default 30)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds run first, not counted (default 1)")
    parser.add_argument("--in-flight", type=int, default=128, help="statements in flight (default 128)")
    parser.add_argument("--keyspace", default="bench_raw", help="keyspace, migrated first (default bench_raw)")
    parser.add_argument("--prefix", default=None, help="player id prefix (default raw-<driver>)")
    parser.add_argument("--players", type=int, default=2000, help="players (default 2000, as 2 wrk threads)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--label", default=None)
    parser.add_argument("--drop-keyspace", action="store_true", help="drop the keyspace afterwards (standalone use)")
    args = parser.parse_args()
    args.prefix = args.prefix or f"raw-{args.driver}"
    result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
