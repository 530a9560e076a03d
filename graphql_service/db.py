"""The one module that touches cassandra-driver.

It builds the single Cluster/Session of a process, prepares statements, and bridges the
driver's callback futures into asyncio. The driver runs its own I/O thread (libev
when the compiled extension is present); we never use its experimental asyncio reactor
(it cannot do TLS). Callbacks run on that I/O thread, so they only hand results to the
event loop with ``call_soon_threadsafe`` and never block.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cassandra import ConsistencyLevel, DriverException
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    ResponseFuture,
    Session,
)
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import PreparedStatement, SimpleStatement, dict_factory

from .domain import StorageUnavailable
from .settings import Settings

log = logging.getLogger(__name__)

Row = dict[str, Any]
# Observers get (statement name, seconds, error or None); metrics hook in here.
StatementObserver = Callable[[str, float, BaseException | None], None]


class ConnectError(RuntimeError):
    """Cassandra cannot be reached or refused our credentials; the message says which."""


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
            context.load_verify_locations(settings.tls_ca_file)
        else:
            context.load_default_certs()
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def describe_connect_error(exc: BaseException, settings: Settings) -> str:
    where = f"{','.join(settings.cql_hosts)}:{settings.port}"
    if isinstance(exc, NoHostAvailable):
        reasons = "; ".join(f"{host}: {err}" for host, err in exc.errors.items())
        text = reasons.lower()
        if "authentication" in text or "bad credentials" in text or "password" in text:
            return f"Cassandra at {where} refused the credentials (CASSANDRA_USERNAME/PASSWORD): {reasons}"
        return f"Cassandra at {where} is unreachable: {reasons or exc}"
    return f"could not connect to Cassandra at {where}: {type(exc).__name__}: {exc}"


class Database:
    """One per process: a connected Session plus the asyncio bridge."""

    def __init__(self, cluster: Cluster, session: Session, settings: Settings) -> None:
        self._cluster = cluster
        self._session = session
        self.settings = settings
        self.observers: list[StatementObserver] = []

    @classmethod
    def connect(cls, settings: Settings, *, keyspace: str | None = None) -> Database:
        """Blocking: call once at start-up (in the lifespan, via ``asyncio.to_thread``)."""
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.local_dc)),
            request_timeout=settings.request_timeout_seconds,
            row_factory=dict_factory,
            consistency_level=ConsistencyLevel.name_to_value[settings.read_consistency],
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
        )
        try:
            session = cluster.connect(keyspace)
        except Exception as exc:
            cluster.shutdown()
            raise ConnectError(describe_connect_error(exc, settings)) from exc
        log.info(
            "connected to Cassandra %s (connection class %s, protocol v%s)",
            ",".join(settings.cql_hosts),
            # libev (LibevConnection) is the fast one; anything else means the wheel
            # lacks its compiled extensions and throughput will suffer.
            cluster.connection_class.__name__,
            cluster.protocol_version,
        )
        return cls(cluster, session, settings)

    def close(self) -> None:
        self._cluster.shutdown()

    @property
    def keyspace(self) -> str | None:
        keyspace: str | None = self._session.keyspace
        return keyspace

    def prepare(self, name: str, cql: str, *, write: bool, idempotent: bool = True) -> Statement:
        """Blocking; done once per statement at start-up."""
        prepared = self._session.prepare(cql)
        level = self.settings.write_consistency if write else self.settings.read_consistency
        prepared.consistency_level = ConsistencyLevel.name_to_value[level]
        # Idempotent statements may be retried and speculatively executed by the driver.
        prepared.is_idempotent = idempotent
        return Statement(name=name, prepared=prepared)

    def execute_sync(self, cql: str, params: Sequence[Any] | None = None) -> list[Row]:
        """Blocking, for schema migrations and tooling only; never on a request path."""
        return list(self._session.execute(cql, params, timeout=max(60, self.settings.request_timeout_seconds)))

    async def execute(self, statement: Statement, params: Sequence[Any] = ()) -> list[Row]:
        """Run one prepared statement and return every row (following pages if any)."""
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await self._run(statement.prepared.bind(params))
        except (DriverException, NoHostAvailable, OSError) as exc:
            error = exc
            raise StorageUnavailable(f"Cassandra failed on {statement.name}: {type(exc).__name__}") from exc
        except Exception as exc:
            error = exc
            raise
        finally:
            elapsed = time.perf_counter() - started
            for observe in self.observers:
                observe(statement.name, elapsed, error)

    async def _run(self, bound: Any) -> list[Row]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[Row]] = loop.create_future()
        rows: list[Row] = []
        response: ResponseFuture = self._session.execute_async(bound)

        def resolve(result: Callable[[], None]) -> None:
            if not done.done():  # the awaiting task may have been cancelled
                result()

        def on_page(page: Iterable[Row] | None) -> None:
            # Runs on the driver's I/O thread: must not raise and must not block.
            try:
                if page:  # writes answer None
                    rows.extend(page)
                if response.has_more_pages:
                    response.start_fetching_next_page()  # non-blocking; calls on_page again
                    return
            except Exception as exc:
                on_error(exc)
                return
            loop.call_soon_threadsafe(resolve, lambda: done.set_result(rows))

        def on_error(exc: BaseException) -> None:
            loop.call_soon_threadsafe(resolve, lambda: done.set_exception(exc))

        response.add_callbacks(on_page, on_error)
        return await done

    async def ping(self) -> str:
        """Ask the cluster something cheap; used by /readyz. Returns the release version."""
        statement = SimpleStatement("SELECT release_version FROM system.local", consistency_level=ConsistencyLevel.ONE)
        try:
            rows = await self._run(statement)
        except (DriverException, NoHostAvailable, OSError) as exc:
            raise StorageUnavailable(f"Cassandra did not answer: {type(exc).__name__}: {exc}") from exc
        return str(rows[0]["release_version"]) if rows else "unknown"
