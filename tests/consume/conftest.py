"""The consumer's tests run against a real Apache Kafka broker that the project starts
(`python -m graphql_service kafka start`, once per run; reused when one answers) and the
real Cassandra node, in a keyspace of their own, with the default storage backend only:
the consumer adds nothing driver-specific to what the other tests already run twice.

Every test makes its own topics and consumer group, so runs (and tests) never share offsets.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import GroupCoordinatorNotAvailableError

from graphql_service.core.service import SessionService
from graphql_service.settings import Settings
from graphql_service.store import backends, migrations
from graphql_service.store.backends import Backend
from graphql_service.tools import devnode, kafkanode

from ..servers import free_port

PARTITIONS = 4


@pytest.fixture(scope="session")
def kafka_broker() -> str:
    """The broker's bootstrap address; raises with the broker's log when it cannot start."""
    settings = kafkanode.BrokerSettings.from_env()
    spec = kafkanode.default_spec(settings)
    kafkanode.start(settings, spec, quiet=True)
    return spec.bootstrap


@pytest.fixture(scope="session")
def kafka_settings(kafka_broker: str, node_settings: devnode.NodeSettings) -> Settings:
    settings = Settings.from_env().with_overrides(
        keyspace=f"test_kafka_{os.getpid()}_{secrets.token_hex(3)}",
        kafka_bootstrap_servers=(kafka_broker,),
        settle_interval_seconds=0,
        kafka_health_port=0,
    )
    if settings.uses_local_node:
        devnode.start(node_settings, devnode.default_spec(node_settings, settings.port), quiet=True)
    return settings


@pytest.fixture(scope="session")
async def kafka_db(kafka_settings: Settings, anyio_backend: str) -> AsyncIterator[Backend]:
    db = await backends.connect(kafka_settings)
    await migrations.apply(db, kafka_settings)
    yield db
    await migrations.drop_keyspace(db, kafka_settings.keyspace)
    await db.close()


@pytest.fixture
async def service(kafka_db: Backend, kafka_settings: Settings) -> SessionService:
    return await SessionService.create(kafka_db, kafka_settings)


@dataclass(frozen=True)
class Topics:
    """A test's own topics and group, as the consumer's settings."""

    events: str
    dead_letter: str
    group: str
    bootstrap: str

    def settings(self, base: Settings, **changes: Any) -> Settings:
        return base.with_overrides(
            kafka_topics=(self.events,),
            kafka_dead_letter_topic=self.dead_letter,
            kafka_group_id=self.group,
            **changes,
        )

    def environment(self, settings: Settings, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "CASSANDRA_KEYSPACE": settings.keyspace,
            "CASSANDRA_DRIVER": settings.driver,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_TOPICS": self.events,
            "KAFKA_DEAD_LETTER_TOPIC": self.dead_letter,
            "KAFKA_GROUP_ID": self.group,
            "HOST": "127.0.0.1",
            **extra,
        }


@pytest.fixture
async def topics(kafka_broker: str) -> Topics:
    name = f"events-{secrets.token_hex(4)}"
    made = Topics(name, f"{name}-dead-letter", f"group-{name}", kafka_broker)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_broker)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(made.events, PARTITIONS, 1), NewTopic(made.dead_letter, 1, 1)], timeout_ms=30_000
        )
    finally:
        await admin.close()
    return made


async def produce(bootstrap: str, topic: str, values: Sequence[bytes | dict[str, Any]]) -> None:
    """Each value as one record, keyed at random: the halves of a session land on any partitions."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        pending = []
        for value in values:
            raw = value if isinstance(value, bytes) else json.dumps(value).encode()
            pending.append(await producer.send(topic, raw, key=secrets.token_bytes(8)))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def committed_and_ends(bootstrap: str, topics: Topics) -> tuple[int, int]:
    """(records committed by the group, records in the topic) over all partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await reader.start()
    try:
        try:
            offsets = await admin.list_consumer_group_offsets(topics.group)
        except GroupCoordinatorNotAvailableError:
            offsets = {}  # the offsets topic is made when the first group joins
        committed = sum(meta.offset for tp, meta in offsets.items() if tp.topic == topics.events and meta.offset > 0)
        partitions = [TopicPartition(topics.events, p) for p in range(PARTITIONS)]
        ends = await reader.end_offsets(partitions)
        return committed, sum(ends.values())
    finally:
        await reader.stop()
        await admin.close()


async def wait_until_committed(bootstrap: str, topics: Topics, *, at_least: int | None = None) -> int:
    """Wait until the group has committed every record (or `at_least` of them); fails after 120 s."""
    deadline = time.monotonic() + 120
    while True:
        committed, ends = await committed_and_ends(bootstrap, topics)
        if committed >= (ends if at_least is None else at_least):
            return committed
        if time.monotonic() > deadline:
            raise AssertionError(f"the group committed {committed} of {ends} records within 120 s")
        await asyncio.sleep(0.2)


async def dead_letters(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes | None, dict[str, str]]]:
    """The first `expected` records of the dead-letter topic: value and headers."""
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await reader.start()
    found: list[tuple[bytes | None, dict[str, str]]] = []
    try:
        deadline = time.monotonic() + 30
        while len(found) < expected and time.monotonic() < deadline:
            for records in (await reader.getmany(timeout_ms=500)).values():
                found += [(r.value, {k: v.decode() for k, v in r.headers}) for r in records]
    finally:
        await reader.stop()
    return found


@dataclass
class ConsumerProcess:
    process: subprocess.Popen[bytes]
    health: str
    log_path: Path

    def ready(self) -> dict[str, Any] | None:
        try:
            answer = httpx.get(f"{self.health}/readyz", timeout=2)
        except httpx.HTTPError:
            return None
        body: dict[str, Any] = answer.json()
        return body if answer.status_code == 200 else None

    def readiness(self) -> tuple[int, dict[str, Any]] | None:
        try:
            answer = httpx.get(f"{self.health}/readyz", timeout=2)
        except httpx.HTTPError:
            return None
        return answer.status_code, answer.json()


@contextmanager
def consumer_process(env: dict[str, str], log_path: Path) -> Iterator[ConsumerProcess]:
    """`python -m graphql_service consume` with its health port; stopped with SIGTERM at the end
    (unless the test killed it)."""
    port = free_port()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "graphql_service", "consume"],
            env={**env, "KAFKA_HEALTH_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield ConsumerProcess(process, f"http://127.0.0.1:{port}", log_path)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
