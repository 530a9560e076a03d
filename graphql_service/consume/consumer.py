"""The consumer loop: fetch a round of records, store every one through
`SessionService.submit_events` (KAFKA_CONCURRENCY at a time), dead-letter the ones that
cannot be stored, then commit the round's offsets; repeat.

At-least-once: a record's offset is committed only after its writes were acknowledged
(or it is in the dead-letter topic), so a process killed at any moment loses nothing, and
the records it had not committed are read again; every write is idempotent, so storing
them twice changes nothing.

While Cassandra is unavailable a record is submitted again with a growing pause (up to
MAX_BACKOFF_SECONDS) until it is stored, and nothing more is fetched meanwhile: the round
holds its partitions (paused) while the group still counts us as alive.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.service import SessionService
from ..domain.errors import InvalidInput, StorageRejected, StorageUnavailable
from ..domain.events import describe
from ..ops import metrics
from ..settings import Settings
from .kafka import KafkaLink, Record, TransientBrokerError
from .records import BadRecord, decode
from .rounds import Partition, Round

log = logging.getLogger(__name__)
FETCH_WAIT_SECONDS = 0.5
# While a round is being stored, poll (paused) this often: the group evicts a member that
# has not polled for max.poll.interval.ms (5 minutes).
KEEPALIVE_SECONDS = 1.0
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0


class Stopping(Exception):
    """Shutdown was asked for while a record was waiting to be retried."""


@dataclass
class ConsumerState:
    """What /readyz reports."""

    joined: bool = False
    storage_available: bool = True
    last_storage_error: str | None = None
    committed: dict[Partition, int] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.joined and self.storage_available


def _reason(exc: InvalidInput) -> str:
    return f"{exc.message}: {describe(exc.problems)}" if exc.problems else exc.message


class Consumer:
    def __init__(self, service: SessionService, link: KafkaLink, settings: Settings) -> None:
        self._service = service
        self._link = link
        self._batch_size = settings.kafka_batch_size
        self._slots = asyncio.Semaphore(settings.kafka_concurrency)
        self._stopping = asyncio.Event()
        self.state = ConsumerState()
        # Called after every commit with the offsets committed (tests, the benchmark).
        self.on_commit: list[Callable[[dict[Partition, int]], None]] = []

    def stop(self) -> None:
        """Finish (or abandon, if Cassandra is down) the records under way, commit what is
        done and return from `run`."""
        self._stopping.set()

    async def run(self) -> None:
        self.state.joined = True
        while not self._stopping.is_set():
            fetched = await self._link.fetch(FETCH_WAIT_SECONDS, self._batch_size)
            if fetched:
                await self._round(Round(fetched))
            self._report_lag()

    async def _round(self, current: Round[Record]) -> None:
        started = time.monotonic()
        metrics.KAFKA_ROUND_RECORDS.observe(len(current))
        for tp, records in current.records.items():
            metrics.KAFKA_RECORDS_CONSUMED.labels(tp[0]).inc(len(records))
        storing = asyncio.ensure_future(self._store_round(current))
        held = False
        try:
            while True:
                done, _ = await asyncio.wait({storing}, timeout=KEEPALIVE_SECONDS)
                if done:
                    break
                # Slow (Cassandra down?): stay in the group without taking more records.
                self._link.hold()
                held = True
                unwanted = await self._link.fetch(0, self._batch_size)
                if unwanted:  # a partition assigned meanwhile was not held yet: read it again later
                    self._link.rewind({tp: records[0].offset for tp, records in unwanted.items()})
        finally:
            if held:
                self._link.release()
            if not storing.done():
                storing.cancel()
            await asyncio.gather(storing, return_exceptions=True)
            offsets = current.committable()
            if offsets:
                await self._commit(offsets)
        failure = None if storing.cancelled() else storing.exception()
        if failure is not None and not isinstance(failure, Stopping):
            raise failure  # a bug: what was stored is committed, the rest is read again on restart
        metrics.KAFKA_ROUND_DURATION.observe(time.monotonic() - started)

    async def _commit(self, offsets: dict[Partition, int]) -> None:
        try:
            await self._link.commit(offsets)
        except TransientBrokerError as exc:
            # Not committed: the records are read again after a restart or rebalance.
            log.warning("could not commit offsets: %s", exc)
            return
        self.state.committed.update(offsets)
        for callback in self.on_commit:
            callback(offsets)

    async def _store_round(self, current: Round[Record]) -> None:
        async def one(tp: Partition, index: int, record: Record) -> None:
            async with self._slots:
                await self._store(record)
            current.mark_done(tp, index)

        tasks = [asyncio.ensure_future(one(tp, index, record)) for tp, index, record in current.items()]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _store(self, record: Record) -> None:
        try:
            submission = decode(record.value)
        except BadRecord as exc:
            await self._dead_letter(record, "not_json", str(exc))
            return
        backoff = FIRST_BACKOFF_SECONDS
        while True:
            try:
                await self._service.submit_events(submission.events, sent_at=submission.sent_at)
            except InvalidInput as exc:
                await self._dead_letter(record, "invalid", _reason(exc))
                return
            except StorageRejected as exc:
                # Retrying cannot help (a schema or configuration problem, e.g. a TTL past
                # 2038): keep the record in the dead-letter topic instead of blocking the partition.
                log.error("Cassandra rejected record %s/%d@%d: %s", record.topic, record.partition, record.offset, exc)
                await self._dead_letter(record, "rejected", f"Cassandra rejected it: {exc}")
                return
            except StorageUnavailable as exc:
                if self.state.storage_available:
                    log.warning("Cassandra unavailable (%s): retrying, nothing more is read meanwhile", exc)
                self.state.storage_available = False
                self.state.last_storage_error = str(exc)
                metrics.KAFKA_STORAGE_RETRIES.inc()
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if not self.state.storage_available:
                log.warning("Cassandra available again")
            self.state.storage_available = True
            metrics.KAFKA_RECORDS_STORED.labels(record.topic).inc()
            return

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return
        raise Stopping

    async def _dead_letter(self, record: Record, kind: str, reason: str) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while True:
            try:
                await self._link.dead_letter(record, reason)
                break
            except TransientBrokerError as exc:
                log.warning(
                    "could not dead-letter record %s/%d@%d: %s", record.topic, record.partition, record.offset, exc
                )
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        metrics.KAFKA_RECORDS_DEAD_LETTERED.labels(record.topic, kind).inc()
        log.info("dead-lettered record %s/%d@%d: %s", record.topic, record.partition, record.offset, reason)

    def _report_lag(self) -> None:
        lags = self._link.lag(self.state.committed)
        assigned = self._link.assignment()
        for (topic, partition), lag in lags.items():
            metrics.KAFKA_LAG.labels(topic, str(partition)).set(lag)
        for tp in list(self.state.committed):
            if tp not in assigned:
                # Another process owns it now and reports it.
                del self.state.committed[tp]
                try:
                    metrics.KAFKA_LAG.remove(tp[0], str(tp[1]))
                except KeyError:
                    pass
