"""The Kafka side of the consumer, and the only module of the package that imports a Kafka
client: aiokafka (asyncio-native, like the rest of the service, so records and Cassandra
writes share one event loop without threads; its wheels install cleanly on Python 3.11,
and it speaks to Kafka 4.x and to Azure Event Hubs' Kafka endpoint with SASL_SSL PLAIN).

Offsets are never committed automatically: `commit` is called by the consumer loop with
the offsets of records already stored or dead-lettered (at-least-once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.helpers import create_ssl_context

from ..domain.errors import ToolError
from ..settings import Settings
from .rounds import Partition

log = logging.getLogger(__name__)
CLIENT_ID = "player-session-service"
REASON_HEADER = "dead-letter-reason"


class BrokerError(ToolError):
    """Kafka could not be reached or refused us; the message says which setting to check."""


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


def _connection(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": list(settings.kafka_bootstrap_servers),
        "client_id": CLIENT_ID,
        "security_protocol": settings.kafka_security_protocol,
        # Azure Event Hubs closes idle connections after 240 s and asks for these at most.
        "connections_max_idle_ms": 180_000,
        "metadata_max_age_ms": 180_000,
        "request_timeout_ms": 60_000,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_ca_file)
    if settings.kafka_security_protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password
    return options


class KafkaLink:
    """One consumer in the group (every topic of KAFKA_TOPICS) and one producer for the
    dead-letter topic."""

    def __init__(self, settings: Settings) -> None:
        connection = _connection(settings)
        self._consumer = AIOKafkaConsumer(
            *settings.kafka_topics,
            group_id=settings.kafka_group_id,
            enable_auto_commit=False,
            # A new group reads each partition from its beginning: nothing sent before the
            # first consumer started is skipped.
            auto_offset_reset="earliest",
            max_poll_records=settings.kafka_batch_size,
            **connection,
        )
        # acks=all: a dead-lettered record is on every in-sync replica before its offset is
        # committed. No idempotent producer (not every Kafka endpoint offers it): a dead
        # letter sent twice after a retry is a harmless duplicate.
        self._producer = AIOKafkaProducer(acks="all", linger_ms=5, **connection)
        self._dead_letter_topic = settings.kafka_dead_letter_topic
        self._bootstrap = ",".join(settings.kafka_bootstrap_servers)

    async def start(self) -> None:
        try:
            await self._producer.start()
            await self._consumer.start()
        except KafkaError as exc:
            await self.stop()
            raise BrokerError(
                f"Kafka at {self._bootstrap} cannot be used ({type(exc).__name__}: {exc}): check "
                "KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL and the SASL settings"
            ) from exc

    async def stop(self) -> None:
        # Leaving the group at once hands our partitions to the others without waiting for
        # the session timeout.
        for client in (self._consumer, self._producer):
            try:
                await client.stop()
            except KafkaError as exc:
                log.warning("stopping the Kafka client: %s", exc)

    def assignment(self) -> set[Partition]:
        return {(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    async def fetch(self, timeout_seconds: float, max_records: int) -> dict[Partition, list[Record]]:
        batches = await self._consumer.getmany(timeout_ms=int(timeout_seconds * 1000), max_records=max_records)
        return {
            (tp.topic, tp.partition): [
                Record(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ())) for r in records
            ]
            for tp, records in batches.items()
            if records
        }

    def hold(self) -> None:
        """Fetch nothing more for now (while a round is still being stored)."""
        self._consumer.pause(*self._consumer.assignment())

    def release(self) -> None:
        self._consumer.resume(*self._consumer.assignment())

    def rewind(self, offsets: dict[Partition, int]) -> None:
        """Read these partitions again from these offsets (records fetched while held)."""
        for (topic, partition), offset in offsets.items():
            try:
                self._consumer.seek(TopicPartition(topic, partition), offset)
            except IllegalStateError:
                pass  # no longer ours: its next owner starts from the committed offset

    async def commit(self, offsets: dict[Partition, int]) -> bool:
        """Commit the offsets of partitions still assigned to us. False when a rebalance
        took them meanwhile: their next owner reads those records again (stored twice,
        changed nothing)."""
        mine = self._consumer.assignment()
        wanted = {TopicPartition(t, p): o for (t, p), o in offsets.items() if TopicPartition(t, p) in mine}
        if not wanted:
            return not offsets
        try:
            await self._consumer.commit(wanted)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("offsets not committed (the group rebalanced): %s", exc)
            return False
        return len(wanted) == len(offsets)

    def lag(self, committed: dict[Partition, int]) -> dict[Partition, int]:
        """Records behind the end of each assigned partition whose end is known."""
        lags = {}
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            if end is None:
                continue
            key = (tp.topic, tp.partition)
            position = committed.get(key)
            if position is not None:
                lags[key] = max(end - position, 0)
        return lags

    async def dead_letter(self, record: Record, reason: str) -> None:
        """Send the record, unchanged, to the dead-letter topic with the reason and where it came
        from in headers; returns once the broker has it."""
        headers = [
            *record.headers,
            (REASON_HEADER, reason.encode()),
            ("source-topic", record.topic.encode()),
            ("source-partition", str(record.partition).encode()),
            ("source-offset", str(record.offset).encode()),
        ]
        await self._producer.send_and_wait(self._dead_letter_topic, record.value, key=record.key, headers=headers)


# What the consumer loop may catch without importing the client.
TransientBrokerError = KafkaError
