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
from dataclasses import dataclass, field

from ..core.service import SessionService
from ..domain.errors import InvalidInput, StorageRejected, StorageUnavailable
from ..domain.events import MAX_BATCH_EVENTS
from ..ops import metrics
from ..settings import Settings
from .kafka import KafkaLink, Record, TransientBrokerError
from .records import BadRecord, Submission, decode
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


@dataclass(frozen=True)
class Decoded:
    tp: Partition
    index: int
    record: Record
    submission: Submission | None
    error: str | None = None


def _groups(current: Round[Record]) -> list[list[Decoded]]:
    """The round's records as units of work: consecutive one-event records of a partition
    together, up to a batch's MAX_BATCH_EVENTS; every other record alone."""
    groups: list[list[Decoded]] = []
    for tp, records in current.records.items():
        singles: list[Decoded] = []
        for index, record in enumerate(records):
            try:
                decoded = Decoded(tp, index, record, decode(record.value))
            except BadRecord as exc:
                groups.append([Decoded(tp, index, record, None, str(exc))])
                continue
            submission = decoded.submission
            if submission is not None and len(submission.events) == 1 and submission.sent_at is None:
                singles.append(decoded)
                if len(singles) == MAX_BATCH_EVENTS:
                    groups.append(singles)
                    singles = []
            else:
                groups.append([decoded])
        if singles:
            groups.append(singles)
    return groups


def _reason(exc: InvalidInput) -> str:
    # The API's 400 message, which names every problem.
    return exc.message


class Consumer:
    def __init__(self, service: SessionService, link: KafkaLink, settings: Settings) -> None:
        self._service = service
        self._link = link
        self._batch_size = settings.kafka_batch_size
        self._slots = asyncio.Semaphore(settings.kafka_concurrency)
        self._stopping = asyncio.Event()
        self.state = ConsumerState()

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

    async def _store_round(self, current: Round[Record]) -> None:
        tasks = [asyncio.ensure_future(self._store_group(current, group)) for group in _groups(current)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _store_group(self, current: Round[Record], group: list[Decoded]) -> None:
        """Records of one event each are submitted together (one batch, as a game client sends
        them over HTTP); if that batch is refused, each is submitted alone, so one bad event
        is dead-lettered by itself and the others are stored."""
        async with self._slots:
            if len(group) > 1:
                events = [event for each in group for event in each.submission.events]  # type: ignore[union-attr]
                if await self._write(events, None) is None:
                    for each in group:
                        self._stored(current, each)
                    return
            for each in group:
                await self._store_one(current, each)

    async def _store_one(self, current: Round[Record], decoded: Decoded) -> None:
        record, submission = decoded.record, decoded.submission
        if submission is None:
            await self._dead_letter(record, "not_json", decoded.error or "")
        else:
            refused = await self._write(submission.events, submission.sent_at)
            if refused is not None:
                await self._dead_letter(record, *refused)
                current.mark_done(decoded.tp, decoded.index)
                return
            metrics.KAFKA_RECORDS_STORED.labels(record.topic).inc()
        current.mark_done(decoded.tp, decoded.index)

    def _stored(self, current: Round[Record], decoded: Decoded) -> None:
        metrics.KAFKA_RECORDS_STORED.labels(decoded.record.topic).inc()
        current.mark_done(decoded.tp, decoded.index)

    async def _write(self, events: list[object], sent_at: object) -> tuple[str, str] | None:
        """Submit until Cassandra has the events (None) or refuses them: (kind, reason)."""
        backoff = FIRST_BACKOFF_SECONDS
        while True:
            try:
                await self._service.submit_events(events, sent_at=sent_at)
            except InvalidInput as exc:
                return "invalid", _reason(exc)
            except StorageRejected as exc:
                # Retrying cannot help (a schema or configuration problem, e.g. a TTL past
                # 2038): keep the record in the dead-letter topic instead of blocking the partition.
                log.error("Cassandra rejected a record: %s", exc)
                return "rejected", f"Cassandra rejected it: {exc}"
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
            return None

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
