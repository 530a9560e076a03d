#!/usr/bin/env python3
"""The Kafka consumer's benchmark, beside HTTP ingest, in one run:

    .venv/bin/python bench/consume.py                      # 1,000,000 events
    EVENTS=100000 .venv/bin/python bench/consume.py        # a quick check

 burst     EVENTS single-event records (sessions of PLAYERS players, their halves keyed at
           random over PARTITIONS partitions) produced into a fresh topic before any consumer
           runs: the backlog a Cassandra outage or a traffic spike leaves.
 consume   `python -m graphql_service consume` with 1, then 2 processes (CONSUMERS), each run
           a fresh consumer group over the same backlog (writes are idempotent, so the second
           pass costs what the first did): events/s from the first fetch to the last commit,
           the group's lag sampled every second until it is 0, statements/event from the
           processes' /metrics.
 http      bench/run_all.sh STEPS=service (acsylla, WEB_CONCURRENCY 1, HTTP_DURATION), the
           HTTP ingest benchmark, right after: wrk posting batches of events.

Needs the local broker (`python -m graphql_service kafka start`) and Cassandra on
127.0.0.1:9042. Prints a markdown table; every figure also goes to RESULTS_DIR/results.jsonl.
Environment (defaults): EVENTS (1000000), PLAYERS (10000), PARTITIONS (8), CONSUMERS (1,2),
HTTP_DURATION (30s; empty skips the HTTP step), KAFKA_BATCH_SIZE and KAFKA_CONCURRENCY (the
consumer's defaults), RESULTS_DIR (bench/results/consume-<UTC time>).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from aiokafka.errors import GroupCoordinatorNotAvailableError  # noqa: E402

from graphql_service.settings import Settings  # noqa: E402
from graphql_service.store import backends, migrations  # noqa: E402

STAMP = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
EVENTS = int(os.environ.get("EVENTS", "1000000"))
PLAYERS = int(os.environ.get("PLAYERS", "10000"))
PARTITIONS = int(os.environ.get("PARTITIONS", "8"))
CONSUMERS = [int(n) for n in os.environ.get("CONSUMERS", "1,2").split(",") if n]
HTTP_DURATION = os.environ.get("HTTP_DURATION", "30s")
RESULTS = Path(os.environ.get("RESULTS_DIR", HERE / "results" / f"consume-{STAMP}"))
BOOTSTRAP = "127.0.0.1:9092"
STATEMENTS = re.compile(r"^player_sessions_cassandra_statement_duration_seconds_count\{[^}]*\} (\S+)$", re.M)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def record(result: dict[str, Any]) -> dict[str, Any]:
    with open(RESULTS / "results.jsonl", "a") as out:
        out.write(json.dumps(result) + "\n")
    return result


def events_of_burst() -> list[bytes]:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    players = [f"bench-kafka-{STAMP}-{n}" for n in range(PLAYERS)]
    out: list[bytes] = []
    for n in range(EVENTS // 2):
        player = players[n % PLAYERS]
        started = base + timedelta(seconds=(n // PLAYERS) * 700)
        session = str(uuid.uuid4())
        out.append(
            json.dumps(
                {
                    "event": "start",
                    "player_id": player,
                    "session_id": session,
                    "ts": started.isoformat(),
                    "country": "FI",
                }
            ).encode()
        )
        ended = started + timedelta(seconds=600)
        out.append(
            json.dumps({"event": "end", "player_id": player, "session_id": session, "ts": ended.isoformat()}).encode()
        )
    random.shuffle(out)
    return out


async def produce(topic: str, values: list[bytes]) -> float:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=20, max_batch_size=256 * 1024, acks=1)
    await producer.start()
    started = time.monotonic()
    try:
        pending = []
        for value in values:
            pending.append(await producer.send(topic, value, key=secrets.token_bytes(8)))
            if len(pending) >= 20000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.monotonic() - started


async def committed(group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    except GroupCoordinatorNotAvailableError:
        return 0
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)


async def end_offsets(topic: str) -> int:
    reader = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP)
    await reader.start()
    try:
        ends = await reader.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    finally:
        await reader.stop()
    return sum(ends.values())


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def statements_of(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return sum(float(v) for v in STATEMENTS.findall(text))


async def run_consumers(processes: int, topic: str, keyspace: str, total: int) -> dict[str, Any]:
    group = f"bench-{STAMP}-{processes}"
    ports = [free_port() for _ in range(processes)]
    env = {
        **os.environ,
        "CASSANDRA_KEYSPACE": keyspace,
        "KAFKA_TOPICS": topic,
        "KAFKA_GROUP_ID": group,
        "KAFKA_DEAD_LETTER_TOPIC": f"{topic}-dead-letter",
        "LOG_LEVEL": "WARNING",
    }
    logs = [open(RESULTS / f"consumer-{processes}-{i}.log", "wb") for i in range(processes)]
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "-m", "graphql_service", "consume"],
            env={**env, "KAFKA_HEALTH_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    lag: list[tuple[float, int]] = []
    first_commit: float | None = None
    try:
        while True:
            done = await committed(group, topic)
            now = time.monotonic() - started
            lag.append((round(now, 1), total - done))
            if done and first_commit is None:
                first_commit = now
            if done >= total:
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a consumer exited; see {RESULTS}")
            await asyncio.sleep(1)
        elapsed = time.monotonic() - started
        statements = sum(statements_of(port) for port in ports)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        for log in logs:
            log.close()
    # Events/s over the draining, from the first commit (the processes have started, joined
    # the group and connected to Cassandra) to the last.
    draining = elapsed - (first_commit or 0)
    return record(
        {
            "bench": "consume",
            "processes": processes,
            "events": total,
            "seconds_to_drain": round(elapsed, 1),
            "seconds_to_first_commit": round(first_commit or 0, 1),
            "events_per_s": round(total / draining) if draining > 0 else None,
            "statements_per_event": round(statements / total, 2),
            "lag_samples": lag,
        }
    )


def run_http() -> dict[str, Any] | None:
    if not HTTP_DURATION:
        return None
    out = RESULTS / "http"
    env = {**os.environ, "STEPS": "service", "DRIVERS": "acsylla", "WORKERS": "1", "DURATION": HTTP_DURATION}
    env["RESULTS_DIR"] = str(out)
    subprocess.run([str(HERE / "run_all.sh")], env=env, check=False, stdout=subprocess.DEVNULL)
    for line in (out / "results.jsonl").read_text().splitlines():
        result = json.loads(line)
        if result.get("bench") == "service_ingest" and result.get("wrk"):
            return record(
                {
                    "bench": "http_ingest",
                    "events_per_s": round(result["wrk"]["events_per_s"]),
                    "statements_per_event": result.get("statements_per_event"),
                }
            )
    return None


async def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    record(
        {
            "bench": "machine",
            "commit": commit.stdout.strip(),
            "nproc": os.cpu_count(),
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "utc": STAMP,
        }
    )
    settings = Settings.from_env().with_overrides(keyspace=f"bench_consume_{STAMP.lower()}")
    db = await backends.connect(settings)
    await migrations.apply(db, settings)
    topic = f"bench-events-{STAMP.lower()}"
    try:
        say(f"producing {EVENTS:,} events into {topic} ({PARTITIONS} partitions) …")
        values = events_of_burst()
        seconds = await produce(topic, values)
        total = await end_offsets(topic)
        record(
            {"bench": "produce", "events": total, "seconds": round(seconds, 1), "events_per_s": round(total / seconds)}
        )
        say(f"produced {total:,} in {seconds:.1f}s")
        runs = []
        for processes in CONSUMERS:
            say(f"consuming with {processes} process(es) …")
            runs.append(await run_consumers(processes, topic, settings.keyspace, total))
            say(f"  {runs[-1]['events_per_s']} events/s, drained in {runs[-1]['seconds_to_drain']} s")
        say("HTTP ingest (bench/run_all.sh STEPS=service) …")
        http = run_http()
    finally:
        await migrations.drop_keyspace(db, settings.keyspace)
        await db.close()
    lines = [
        "| ingest path | processes | events | events/s | statements/event | backlog drained in |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| `consume` | {run['processes']} | {run['events']:,} | {run['events_per_s']:,} | "
            f"{run['statements_per_event']} | {run['seconds_to_drain']} s |"
        )
    if http:
        lines.append(
            f"| HTTP `POST /events` (wrk, {HTTP_DURATION}) | 1 worker | | {http['events_per_s']:,} | "
            f"{http['statements_per_event']} | |"
        )
    table = "\n".join(lines)
    (RESULTS / "summary.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    asyncio.run(main())
