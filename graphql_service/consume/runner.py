"""Settings -> a running consumer: the health listener first (so /readyz says what it waits
for), then Cassandra (waited for, with backoff, when it is down at start-up: a consumer
started before the database catches up by itself), then the Kafka group, then the loop
until SIGTERM or SIGINT, which commit what is done before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from ..core.service import SessionService
from ..domain.errors import ConnectError, StorageUnavailable
from ..ops import metrics
from ..settings import Settings
from ..store import backends, migrations
from ..store.backends import Backend
from . import health
from .consumer import FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS, Consumer, ConsumerState
from .kafka import KafkaLink

log = logging.getLogger(__name__)


async def _connect(settings: Settings, stopping: asyncio.Event, state: ConsumerState) -> Backend | None:
    """A connected, migrated backend; None if asked to stop before Cassandra answered."""
    backoff = FIRST_BACKOFF_SECONDS
    while not stopping.is_set():
        try:
            db = await backends.connect(settings)
        except (ConnectError, StorageUnavailable) as exc:
            if state.storage_available:
                log.warning("Cassandra cannot be reached (%s): trying again until it can", exc)
            state.storage_available = False
            state.last_storage_error = str(exc)
        else:
            try:
                await migrations.check_migrated(db, settings)
            except BaseException:
                await db.close()
                raise
            state.storage_available = True
            return db
        try:
            await asyncio.wait_for(stopping.wait(), timeout=backoff)
        except TimeoutError:
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
    return None


def _readiness(
    state: ConsumerState, link: Callable[[], KafkaLink | None]
) -> Callable[[], tuple[bool, dict[str, object]]]:
    def readiness() -> tuple[bool, dict[str, object]]:
        current = link()
        details: dict[str, object] = {
            "kafka": "consuming" if state.joined else "not yet",
            "cassandra": "available" if state.storage_available else f"unavailable: {state.last_storage_error}",
            "partitions": sorted(f"{t}/{p}" for t, p in current.assignment()) if current else [],
        }
        return state.ready, details

    return readiness


async def consume(settings: Settings, stopping: asyncio.Event) -> None:
    state = ConsumerState()
    link: KafkaLink | None = None
    server = None
    if settings.kafka_health_port:
        server = await health.serve(settings.host, settings.kafka_health_port, _readiness(state, lambda: link))
    try:
        db = await _connect(settings, stopping, state)
        if db is None:
            return
        try:
            service = await SessionService.create(db, settings)
            service.observers.append(metrics.observe_ingest)
            db.observers.append(metrics.observe_statement)
            link = KafkaLink(settings)
            await link.start()
            try:
                consumer = Consumer(service, link, settings)
                consumer.state = state
                stopper = asyncio.ensure_future(stopping.wait())
                stopper.add_done_callback(lambda _: consumer.stop())
                log.info(
                    "consuming %s in group %s from %s",
                    ",".join(settings.kafka_topics),
                    settings.kafka_group_id,
                    ",".join(settings.kafka_bootstrap_servers),
                )
                try:
                    await consumer.run()
                finally:
                    stopper.cancel()
            finally:
                await link.stop()
        finally:
            await db.close()
    finally:
        if server is not None:
            server.close()
            await server.wait_closed()


async def _main(settings: Settings) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await consume(settings, stopping)
    log.info("consumer stopped; every record done was committed")


def run(settings: Settings, *, debug: bool = False) -> int:
    asyncio.run(_main(settings), debug=False)
    return 0
