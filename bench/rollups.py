"""Per-country counts after a backfill: is the first query answered at once, and is the
series query flat in the number of sessions?

In a scratch keyspace `bench_rollups_<time>` (migrated here, dropped at the end), with one
served process (`python -m graphql_service serve`, its background settler on) running
throughout:

1. write a JSON Lines file of late session starts spread over the last 23.5 hours (20
   countries, uneven shares) and load it with the real command,
   `python -m graphql_service import FILE` (which settles the buckets it touched);
2. time the first `GET /session-starts?hours=24`, `GET /session-starts/series?hours=24&step=hour`
   and `...?hours=720&step=day` over HTTP right after the import exits, then REPEATS more of
   each (steady state: median and p95), checking every answer's total against what was loaded;
3. repeat for each step of `--steps` (cumulative: 50000,200000 imports 50,000 then 150,000 more).

    .venv/bin/python bench/rollups.py [--steps 50000,200000] [--repeats 30]

Needs the local node (`make cassandra`) or CASSANDRA_CONTACT_POINTS. One Markdown table on
stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from graphql_service.settings import Settings
from graphql_service.store import backends, migrations
from graphql_service.tools.readiness import free_port, running

ROOT = Path(__file__).resolve().parent.parent
COUNTRIES = [f"{a}{b}" for a, b in zip("ABCDEFGHIJKLMNOPQRST", "ZYXWVUTSRQPONMLKJIHG", strict=True)]
WEIGHTS = [1 / (rank + 1) for rank in range(len(COUNTRIES))]
QUERIES = (
    ("/session-starts", {"hours": "24"}),
    ("/session-starts/series", {"hours": "24", "step": "hour"}),
    ("/session-starts/series", {"hours": "720", "step": "day"}),
)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_late_starts(path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    now = datetime.now(UTC)
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(count):
            ts = now - timedelta(seconds=rng.uniform(60, 23.5 * 3600))
            event = {
                "event": "start",
                "player_id": f"bench-{rng.randrange(10**9)}",
                "session_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "ts": ts.replace(microsecond=0, tzinfo=None).isoformat(),
                "country": rng.choices(COUNTRIES, WEIGHTS)[0],
            }
            out.write(json.dumps(event) + "\n")


def total(path: str, body: dict[str, Any]) -> int:
    if path == "/session-starts":
        return sum(c["session_starts"] for c in body["countries"])
    return sum(p["session_starts"] for p in body["series"])


async def timed(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> tuple[float, int]:
    began = time.perf_counter()
    response = await client.get(path, params=params)
    elapsed = (time.perf_counter() - began) * 1000
    response.raise_for_status()
    return elapsed, total(path, response.json())


async def measure(url: str, loaded: int, repeats: int, step: int) -> list[str]:
    rows = []
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        for path, params in QUERIES:
            first, counted = await timed(client, path, params)
            steady = []
            for _ in range(repeats):
                ms, again = await timed(client, path, params)
                steady.append(ms)
                counted = min(counted, again)
            query = path + "?" + "&".join(f"{k}={v}" for k, v in params.items())
            if counted != loaded:
                raise SystemExit(f"{query}: counted {counted:,}, loaded {loaded:,}")
            p95 = statistics.quantiles(steady, n=20)[-1]
            rows.append(
                f"| {loaded:,} | {step:,} | `{query}` | {first:,.1f} | {statistics.median(steady):,.1f} | {p95:,.1f} |"
            )
            say(rows[-1])
    return rows


def import_file(path: Path, env: dict[str, str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "graphql_service", "import", str(path), "--no-progress", "--json"]
    began = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}): {done.stderr}{done.stdout}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    summary["wall_seconds"] = round(time.perf_counter() - began, 1)
    return summary


async def prepare(settings: Settings, drop: bool) -> None:
    db = await backends.connect(settings)
    try:
        if drop:
            await migrations.drop_keyspace(db, settings.keyspace)
        else:
            await migrations.apply(db, settings)
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="50000,200000", help="cumulative starts in the window after each import")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    keyspace = f"bench_rollups_{datetime.now(UTC):%Y%m%d%H%M%S}"
    settings = Settings.from_env().with_overrides(keyspace=keyspace)
    env = {**os.environ, "CASSANDRA_KEYSPACE": keyspace, "LOG_LEVEL": "WARNING"}
    asyncio.run(prepare(settings, drop=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(Path(tempfile.gettempdir()) / f"{keyspace}.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "graphql_service", "serve"],
        env={**env, "PORT": str(port), "HOST": "127.0.0.1"},
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    table = [
        "| starts in window | imported in step | query | first (ms) | steady median (ms) | steady p95 (ms) |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    imports = []
    try:
        with running(server, url, Path(log.name), timeout=120), tempfile.TemporaryDirectory() as scratch:
            loaded = 0
            for target in steps:
                path = Path(scratch) / f"late-{target}.jsonl"
                write_late_starts(path, target - loaded, seed=target)
                say(f"importing {target - loaded:,} late starts ...")
                summary = import_file(path, env)
                imports.append(summary)
                say(json.dumps(summary))
                table += asyncio.run(measure(url, target, args.repeats, target - loaded))
                loaded = target
    finally:
        log.close()
        asyncio.run(prepare(settings, drop=True))
    print("\n".join(table))
    print()
    print("| imported | import wall (s) | of which settling (s) | settled buckets |")
    print("|---:|---:|---:|---:|")
    for s in imports:
        print(f"| {s['accepted']:,} | {s['wall_seconds']} | {s['settle_seconds']} | {s['settled_buckets']:,} |")


if __name__ == "__main__":
    main()
