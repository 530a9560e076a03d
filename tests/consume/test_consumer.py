"""`consume`: events read from a real Kafka broker are stored exactly as `POST /events` stores
them, at least once, whatever happens to the consumer process or to Cassandra."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphql_service.consume.runner import consume
from graphql_service.core.service import SessionService
from graphql_service.settings import Settings

from ..events import new_player, now, session_pair
from ..servers import free_port
from .conftest import (
    PARTITIONS,
    Topics,
    committed_and_ends,
    consumer_process,
    dead_letters,
    produce,
    wait_until_committed,
)
from .relay import Relay

pytestmark = pytest.mark.anyio


def _sessions(players: int, per_player: int) -> tuple[dict[str, set[uuid.UUID]], list[dict[str, Any]]]:
    """Sessions of `players` players, as single-event records in a shuffled order (ends
    before their starts too)."""
    sent: dict[str, set[uuid.UUID]] = {}
    records: list[dict[str, Any]] = []
    base = now() - timedelta(hours=2)
    for _ in range(players):
        player = new_player("kafka")
        for n in range(per_player):
            session, events = session_pair(player, base + timedelta(minutes=n * 11), minutes=10)
            sent.setdefault(player, set()).add(session)
            records += events
    random.shuffle(records)
    return sent, records


async def _listed_once(service: SessionService, sent: dict[str, set[uuid.UUID]]) -> None:
    for player, sessions in sent.items():
        listed = [s.session_id for s in await service.recent_sessions(player, 100)]
        assert Counter(listed) == Counter(sessions), player


async def _produce_steadily(topics: Topics, records: list[dict[str, Any]], chunks: int) -> None:
    size = -(-len(records) // chunks)
    for first in range(0, len(records), size):
        await produce(topics.bootstrap, topics.events, records[first : first + size])
        await asyncio.sleep(0.3)


async def _run_until_committed(
    settings: Settings, topics: Topics, then: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Consume in this process until the group has committed every record, then (while it
    still runs) `then()`, then stop it as SIGTERM does."""
    stopping = asyncio.Event()
    running = asyncio.ensure_future(consume(settings, stopping))
    try:
        await wait_until_committed(topics.bootstrap, topics)
        if then is not None:
            await then()
    finally:
        stopping.set()
        await running


def _sample(metrics_text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics_text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_sessions_sent_in_any_order_across_partitions_are_all_listed(
    kafka_settings: Settings, topics: Topics, service: SessionService
) -> None:
    sent, records = _sessions(players=20, per_player=5)
    # A batch record too, as POST /events takes it.
    player = new_player("kafka-batch")
    session, pair = session_pair(player, now() - timedelta(hours=1))
    sent[player] = {session}
    await produce(topics.bootstrap, topics.events, [*records, {"rows": pair}])

    await _run_until_committed(topics.settings(kafka_settings), topics)

    await _listed_once(service, sent)


async def test_a_bad_record_is_dead_lettered_with_its_reason_while_good_ones_are_stored(
    kafka_settings: Settings, topics: Topics, service: SessionService
) -> None:
    player = new_player("kafka-good")
    first, first_pair = session_pair(player, now() - timedelta(hours=1))
    second, second_pair = session_pair(player, now() - timedelta(minutes=30))
    invalid = {"event": "start", "player_id": player, "session_id": "not-a-uuid", "ts": "yesterday", "country": "FI"}
    await produce(topics.bootstrap, topics.events, [*first_pair, b"{not json", invalid, {"rows": "nope"}, *second_pair])

    port = free_port()
    seen: dict[str, Any] = {}

    async def look() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            seen["ready"] = (await http.get("/readyz")).json()
            seen["metrics"] = (await http.get("/metrics")).text

    await _run_until_committed(topics.settings(kafka_settings, kafka_health_port=port), topics, look)

    await _listed_once(service, {player: {first, second}})
    assert seen["ready"]["status"] == "ready"
    assert len(seen["ready"]["partitions"]) == PARTITIONS
    dead_lettered = "player_sessions_kafka_records_dead_lettered_total"
    assert _sample(seen["metrics"], dead_lettered, topic=topics.events, reason="not_json") == 2
    assert _sample(seen["metrics"], dead_lettered, topic=topics.events, reason="invalid") == 1
    assert _sample(seen["metrics"], "player_sessions_kafka_records_stored_total", topic=topics.events) == 4
    assert _sample(seen["metrics"], "player_sessions_kafka_records_consumed_total", topic=topics.events) == 7
    dead = await dead_letters(topics.bootstrap, topics.dead_letter, expected=3)
    reasons = sorted(headers["dead-letter-reason"] for _, headers in dead)
    assert len(reasons) == 3
    assert any("not JSON" in reason for reason in reasons)
    assert any("session_id" in reason and "ts" in reason for reason in reasons)
    assert any('"rows" must be a list' in reason for reason in reasons)
    # The record itself is kept, with where it came from.
    assert {value for value, _ in dead} >= {b"{not json"}
    assert {headers["source-topic"] for _, headers in dead} == {topics.events}


async def test_nothing_is_committed_while_cassandra_is_unreachable_and_all_is_stored_once_it_answers(
    kafka_settings: Settings, topics: Topics, service: SessionService
) -> None:
    # Cassandra "down" for this consumer: nothing listens where it looks (the shared node
    # keeps running for every other test).
    sent, records = _sessions(players=5, per_player=4)
    await produce(topics.bootstrap, topics.events, records)
    health = free_port()
    unreachable = topics.settings(
        kafka_settings,
        contact_points=("127.0.0.1",),
        port=free_port(),
        connect_timeout_seconds=1,
        kafka_health_port=health,
    )
    stopping = asyncio.Event()
    running = asyncio.ensure_future(consume(unreachable, stopping))
    await asyncio.sleep(3)
    assert not running.done()  # it waits for Cassandra rather than giving up
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health}") as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["cassandra"].startswith("unavailable: ")
    committed, ends = await committed_and_ends(topics.bootstrap, topics)
    assert (committed, ends) == (0, len(records))
    stopping.set()
    await asyncio.wait_for(running, 15)  # SIGTERM's path: stops promptly, even while waiting

    await _run_until_committed(topics.settings(kafka_settings), topics)

    await _listed_once(service, sent)


async def test_two_consumers_split_the_partitions_and_a_kill_9_under_load_loses_nothing(
    kafka_settings: Settings, topics: Topics, service: SessionService, tmp_path: Path
) -> None:
    env = topics.environment(kafka_settings, KAFKA_BATCH_SIZE="200", KAFKA_CONCURRENCY="16")
    sent, records = _sessions(players=100, per_player=10)
    with consumer_process(env, tmp_path / "a.log") as a, consumer_process(env, tmp_path / "b.log") as b:
        # Both in the group, each with its own share of the partitions, once the group has
        # rebalanced (the first to join holds all of them until the second does).
        every = {f"{topics.events}/{p}" for p in range(PARTITIONS)}
        deadline = time.monotonic() + 60
        while True:
            shares = [set(s["partitions"]) if s else set() for s in (a.ready(), b.ready())]
            if all(shares) and shares[0].isdisjoint(shares[1]) and shares[0] | shares[1] == every:
                break
            assert time.monotonic() < deadline, f"no split of the partitions: {shares}\n{a.log_path.read_text()}"
            await asyncio.sleep(0.2)

        # Records keep arriving while A is killed: it dies in the middle of the stream, with
        # rounds fetched, some stored, not all committed.
        producing = asyncio.ensure_future(_produce_steadily(topics, records, chunks=10))
        await wait_until_committed(topics.bootstrap, topics, at_least=len(records) // 20)
        os.kill(a.process.pid, signal.SIGKILL)
        a.process.wait()
        assert not producing.done()  # killed under load
        await producing
        with consumer_process(env, tmp_path / "a-again.log"):
            await wait_until_committed(topics.bootstrap, topics)
        assert b.process.poll() is None
    assert b.process.returncode == 0  # SIGTERM: committed what was done, and exited cleanly

    await _listed_once(service, sent)


async def test_a_consumer_waits_while_cassandra_is_cut_off_and_resumes_by_itself(
    kafka_settings: Settings, topics: Topics, service: SessionService
) -> None:
    relay = Relay(kafka_settings.port)
    await relay.up()
    health = free_port()
    cut_off = topics.settings(
        kafka_settings,
        contact_points=("127.0.0.1",),
        port=relay.port,
        request_timeout_seconds=2,
        kafka_health_port=health,
    )
    before, before_records = _sessions(players=5, per_player=2)
    during, during_records = _sessions(players=5, per_player=2)
    stopping = asyncio.Event()
    running = asyncio.ensure_future(consume(cut_off, stopping))
    try:
        await produce(topics.bootstrap, topics.events, before_records)
        await wait_until_committed(topics.bootstrap, topics)

        await relay.down()
        await produce(topics.bootstrap, topics.events, during_records)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health}") as http:
            deadline = time.monotonic() + 60
            while (await http.get("/readyz")).status_code == 200:  # until a write has failed
                assert time.monotonic() < deadline, "the consumer never noticed Cassandra was cut off"
                await asyncio.sleep(0.2)
        committed, ends = await committed_and_ends(topics.bootstrap, topics)
        assert committed < ends  # nothing of what could not be stored is committed

        await relay.up()  # same port: the driver reconnects by itself
        await wait_until_committed(topics.bootstrap, topics)
    finally:
        stopping.set()
        await running
        await relay.down()

    await _listed_once(service, {**before, **during})
