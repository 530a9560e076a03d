"""The storage protocol on cassandra-driver (the DataStax Python driver).

The driver runs its own I/O thread (libev when the compiled extension is present); its
experimental asyncio reactor is never used (it cannot do TLS). Callback futures are bridged
into asyncio with ``call_soon_threadsafe``; blocking calls (connect, prepare, DDL) run in a
worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cassandra import AuthenticationFailed, ConsistencyLevel, DriverException, RequestValidationException
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    ResponseFuture,
    Session,
)
from cassandra.connection import ProtocolVersionUnsupported
from cassandra.policies import (
    ConstantSpeculativeExecutionPolicy,
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.protocol import ProtocolException
from cassandra.query import BatchStatement, BatchType, PreparedStatement, SimpleStatement, dict_factory

from ...domain.errors import ConfigError, ConnectError, StorageRejected, StorageUnavailable
from ...settings import Settings
from .base import Observed, Page, Prepared, Row, StatementObserver, utc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Statement:
    name: str
    prepared: PreparedStatement


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if not settings.tls_enabled:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if settings.tls_verify:
        if settings.tls_ca_file:
            try:
                context.load_verify_locations(settings.tls_ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"CASSANDRA_TLS_CA_FILE {settings.tls_ca_file!r} is not a readable PEM file: {exc}"
                ) from exc
        else:
            context.load_default_certs()
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def describe_connect_error(exc: BaseException, settings: Settings, datacenters: Iterable[str | None] = ()) -> str:
    """Why connecting failed, in one line that names the setting to look at.

    `datacenters` are those of the nodes the control connection saw, if it got that far."""
    where = f"Cassandra at {','.join(settings.cql_hosts)}:{settings.port}"
    known = sorted({dc for dc in datacenters if dc})
    if known and settings.local_dc not in known:
        # The load balancing policy ignores every node outside the local DC, so the
        # driver only says "unable to connect to any servers".
        return (
            f"{where} has no node in datacenter {settings.local_dc!r} (CASSANDRA_LOCAL_DC); "
            f"its datacenters: {', '.join(known)}"
        )
    if not isinstance(exc, NoHostAvailable):
        return f"could not connect to {where}: {type(exc).__name__}: {_one_line(exc)}"
    # Usually {endpoint: exception}; a list of hosts when a Session could not be built.
    errors = list(exc.errors.values()) if isinstance(exc.errors, dict) else []
    reasons = "; ".join(f"{host}: {_one_line(err)}" for host, err in exc.errors.items()) if errors else _one_line(exc)
    if any(isinstance(err, AuthenticationFailed) for err in errors):
        if not settings.username:
            return f"{where} requires a password: set CASSANDRA_USERNAME and CASSANDRA_PASSWORD ({reasons})"
        return (
            f"{where} refused the credentials of user {settings.username!r} "
            f"(CASSANDRA_USERNAME/CASSANDRA_PASSWORD): {reasons}"
        )
    if any(isinstance(err, ProtocolVersionUnsupported | ProtocolException) for err in errors):
        return (
            f"{where} does not accept native protocol v{settings.protocol_version} (CASSANDRA_PROTOCOL_VERSION; "
            f"4 for Azure Cosmos DB and Cassandra 3.x): {reasons}"
        )
    text = reasons.lower()
    if "certificate verify failed" in text:
        return (
            f"{where} is unreachable: its TLS certificate is not trusted (set CASSANDRA_TLS_CA_FILE to the CA "
            f"that signed it, or CASSANDRA_TLS_VERIFY=false): {reasons}"
        )
    hint = ""
    if not settings.tls_enabled and ("reset by peer" in text or "eof" in text):
        # A node with client encryption required drops a plain-text connection at once.
        hint = " (the node closed the connection: if it requires TLS, set CASSANDRA_TLS=true)"
    elif settings.tls_enabled and ("wrong version number" in text or "ssl" in text):
        hint = " (the TLS handshake failed: if the node does not use client encryption, set CASSANDRA_TLS=false)"
    return f"{where} is unreachable{hint}: {reasons}"


class _HoldDriverLogs(logging.Filter):
    """Holds back the driver's log records made by one thread while it connects.

    If connecting fails the driver logs the same failure again as tracebacks;
    ConnectError already says it in one line, so those records are dropped. If it
    succeeds they are passed on unchanged."""

    LOGGERS = ("cassandra.cluster", "cassandra.connection", "cassandra.pool", "cassandra.policies")

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread:
            return True
        self.records.append(record)
        return False


@contextmanager
def _driver_logs_held() -> Iterator[_HoldDriverLogs]:
    held = _HoldDriverLogs()
    loggers = [logging.getLogger(name) for name in held.LOGGERS]
    for logger in loggers:
        logger.addFilter(held)
    try:
        yield held
    finally:
        for logger in loggers:
            logger.removeFilter(held)


def _open(settings: Settings, keyspace: str | None) -> tuple[Cluster, Session]:
    """Blocking: a connected Cluster and Session, or ConnectError saying why not."""
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.local_dc)),
        request_timeout=settings.request_timeout_seconds,
        row_factory=dict_factory,
        consistency_level=ConsistencyLevel.name_to_value[settings.read_consistency],
        # Only idempotent statements are sent twice; every statement of ours is one.
        speculative_execution_policy=(
            ConstantSpeculativeExecutionPolicy(settings.speculative_delay_ms / 1000, 1)
            if settings.speculative_delay_ms
            else None
        ),
    )
    auth = None
    if settings.username:
        auth = PlainTextAuthProvider(username=settings.username, password=settings.password or "")
    cluster = Cluster(
        contact_points=list(settings.cql_hosts),
        port=settings.port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        auth_provider=auth,
        ssl_context=_ssl_context(settings),
        connect_timeout=settings.connect_timeout_seconds,
        protocol_version=settings.protocol_version,
        # Reconnecting to a node that went away: from 250 ms, doubling up to 1 s, for ever.
        # The default (1 s doubling up to 600 s, giving up after 64 attempts) left 7-12 s of
        # 503s after an outage of some seconds, and a node down for good after a long one.
        reconnection_policy=ExponentialReconnectionPolicy(base_delay=0.25, max_delay=1.0, max_attempts=None),
    )
    with _driver_logs_held() as held:
        try:
            session = cluster.connect(keyspace)
        except Exception as exc:
            datacenters = [host.datacenter for host in cluster.metadata.all_hosts()]
            cluster.shutdown()
            raise ConnectError(describe_connect_error(exc, settings, datacenters)) from exc
    for record in held.records:
        logging.getLogger(record.name).handle(record)
    return cluster, session


def check_connection(settings: Settings) -> str | None:
    """Blocking: open and close one fresh connection. None if that works, else why not."""
    try:
        cluster, _ = _open(settings, None)
    except (ConnectError, ConfigError) as exc:
        return str(exc)
    cluster.shutdown()
    return None


class CassandraDriverBackend:
    """One per process: a connected Session plus the asyncio bridge."""

    def __init__(self, cluster: Cluster, session: Session, settings: Settings) -> None:
        self._cluster = cluster
        self._session = session
        self.settings = settings
        self.observers: list[StatementObserver] = []
        self._write_level = ConsistencyLevel.name_to_value[settings.write_consistency]

    @classmethod
    async def connect(cls, settings: Settings) -> CassandraDriverBackend:
        cluster, session = await asyncio.to_thread(_open, settings, None)
        log.info(
            "connected to Cassandra %s with cassandra-driver (connection class %s, protocol v%s)",
            ",".join(settings.cql_hosts),
            # libev (LibevConnection) is the fast one; anything else means the wheel
            # lacks its compiled extensions and throughput will suffer.
            cluster.connection_class.__name__,
            cluster.protocol_version,
        )
        return cls(cluster, session, settings)

    async def close(self) -> None:
        await asyncio.to_thread(self._cluster.shutdown)

    async def prepare(self, name: str, cql: str, *, write: bool, idempotent: bool = True) -> Statement:
        try:
            prepared = await asyncio.to_thread(self._session.prepare, cql)
        except (DriverException, NoHostAvailable, OSError) as exc:
            raise _storage_error(name, exc) from exc
        level = self.settings.write_consistency if write else self.settings.read_consistency
        prepared.consistency_level = ConsistencyLevel.name_to_value[level]
        # Idempotent statements may be retried and speculatively executed by the driver.
        prepared.is_idempotent = idempotent
        return Statement(name=name, prepared=prepared)

    async def execute(self, statement: Prepared, params: Sequence[Any] = ()) -> list[Row]:
        with Observed(self.observers, statement.name):
            try:
                return _aware((await self._run(_statement(statement).prepared.bind(params), all_pages=True))[0])
            except Exception as exc:
                raise _storage_error(statement.name, exc) from exc

    async def execute_page(
        self, statement: Prepared, params: Sequence[Any], *, page_size: int, paging_state: bytes | None = None
    ) -> Page:
        with Observed(self.observers, statement.name):
            try:
                bound = _statement(statement).prepared.bind(params)
                bound.fetch_size = page_size
                rows, state = await self._run(bound, all_pages=False, paging_state=paging_state)
            except Exception as exc:
                raise _storage_error(statement.name, exc) from exc
        return Page(_aware(rows), state)

    async def execute_batch(self, name: str, statements: Sequence[tuple[Prepared, Sequence[Any]]]) -> None:
        with Observed(self.observers, name):
            try:
                batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=self._write_level)
                for statement, params in statements:
                    batch.add(_statement(statement).prepared, params)
                await self._run(batch, all_pages=False)
            except Exception as exc:
                raise _storage_error(name, exc) from exc

    async def execute_schema(self, cql: str, params: Sequence[Any] = ()) -> list[Row]:
        # Simple statements take the driver's %s markers; the protocol speaks `?`.
        text = cql.replace("%", "%%").replace("?", "%s") if params else cql
        timeout = max(60, self.settings.request_timeout_seconds)
        try:
            rows = await asyncio.to_thread(self._session.execute, text, list(params) or None, timeout=timeout)
        except (DriverException, NoHostAvailable, OSError) as exc:
            raise _storage_error("schema", exc) from exc
        return _aware(list(rows))

    async def _run(
        self, bound: Any, *, all_pages: bool, paging_state: bytes | None = None
    ) -> tuple[list[Row], bytes | None]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[list[Row], bytes | None]] = loop.create_future()
        rows: list[Row] = []
        response: ResponseFuture = self._session.execute_async(bound, paging_state=paging_state)

        def resolve(result: Callable[[], None]) -> None:
            if not done.done():  # the awaiting task may have been cancelled
                result()

        def on_page(page: Iterable[Row] | None) -> None:
            # Runs on the driver's I/O thread: must not raise and must not block.
            try:
                if page:  # writes answer None
                    rows.extend(page)
                if all_pages and response.has_more_pages:
                    response.start_fetching_next_page()  # non-blocking; calls on_page again
                    return
                state = response._paging_state if response.has_more_pages else None
            except Exception as exc:
                on_error(exc)
                return
            loop.call_soon_threadsafe(resolve, lambda: done.set_result((rows, state)))

        def on_error(exc: BaseException) -> None:
            loop.call_soon_threadsafe(resolve, lambda: done.set_exception(exc))

        response.add_callbacks(on_page, on_error)
        return await done

    async def ping(self) -> str:
        statement = SimpleStatement("SELECT release_version FROM system.local", consistency_level=ConsistencyLevel.ONE)
        try:
            rows, _ = await self._run(statement, all_pages=False)
        except (DriverException, NoHostAvailable, OSError) as exc:
            raise StorageUnavailable(f"Cassandra did not answer: {type(exc).__name__}: {exc}") from exc
        return str(rows[0]["release_version"]) if rows else "unknown"

    async def diagnose(self) -> str | None:
        return await asyncio.to_thread(check_connection, self.settings)


def _statement(prepared: Prepared) -> Statement:
    # Only this backend's own statements ever come back to it.
    assert isinstance(prepared, Statement)
    return prepared


def _aware(rows: list[Row]) -> list[Row]:
    # The driver hands back naive datetimes that mean UTC.
    for row in rows:
        for key, value in row.items():
            if isinstance(value, datetime):
                row[key] = utc(value)
    return rows


def _storage_error(name: str, exc: BaseException) -> StorageRejected | StorageUnavailable:
    # Refused by Cassandra, or a value that cannot be bound (TypeError/ValueError at bind
    # time): our bug or configuration, never fixed by retrying. Anything else (timeouts,
    # unavailable, overloaded, lost connections, server errors) is worth a retry.
    if isinstance(exc, RequestValidationException | TypeError | ValueError):
        log.error("Cassandra rejected %s: %s", name, exc)
        return StorageRejected(f"Cassandra rejected {name}: {type(exc).__name__}")
    return StorageUnavailable(f"Cassandra failed on {name}: {type(exc).__name__}")
