"""The storage protocol on acsylla: asyncio over the C/C++ driver (ScyllaDB's fork of the
DataStax cpp-driver), with no Python I/O thread in between.

Facts this module relies on (checked against acsylla 1.2.0 and Cassandra 5.0):
- the cluster and session belong to the event loop that created them: create them in the
  running loop that uses them (the app's lifespan), close them there;
- the C++ driver speaks native protocol v4 at most; v4 is also what Cosmos DB needs;
- uuid columns come back as `str`: the uuid columns of each table are looked up once, at
  prepare time, and converted back, so rows look the same as with cassandra-driver;
- `SSLVerifyFlags.PEER_IDENTITY` is an alias of PEER_CERT: the bitmask (chain + identity)
  is passed to `set_ssl` instead.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import acsylla
from acsylla import errors as cass

from ...domain.errors import ConfigError, ConnectError, StorageRejected, StorageUnavailable
from ...settings import Settings
from .base import Observed, Page, Prepared, Row, StatementObserver

log = logging.getLogger(__name__)

# The C driver's own bitmask (acsylla's enum cannot express a combination).
_VERIFY_CERT, _VERIFY_IP, _VERIFY_DNS = 1, 2, 4
# Requests one process may have queued in the driver; past that it fails at once.
_QUEUE_SIZE = 32768
# Reconnecting to a node that went away: from 250 ms, doubling up to 1 s (the driver adds
# up to 15 % jitter). The default, 2 s doubling up to 60 s, left 7-12 s of 503s after an
# outage of some seconds; one connection attempt a second per lost node costs nothing.
_RECONNECT_BASE_MS = 250
_RECONNECT_MAX_MS = 1000
# The caller's mistake or ours, never the cluster's health: retrying will not help.
_REJECTED = (
    cass.CassErrorServerSyntaxError,
    cass.CassErrorServerInvalidQuery,
    cass.CassErrorServerUnauthorized,
    cass.CassErrorServerConfigError,
    cass.CassErrorServerAlreadyExists,
    cass.CassErrorLibBadParams,
    cass.CassErrorLibInvalidValueType,
    ValueError,
    OverflowError,
)
_FROM_TABLE = re.compile(r"\bFROM\s+(\w+)\.(\w+)", re.IGNORECASE)


_driver_log = logging.getLogger("acsylla")
_LEVELS = {"CRITICAL": logging.CRITICAL, "ERROR": logging.ERROR, "WARN": logging.WARNING, "INFO": logging.INFO}


class _DriverLog:
    """Receives the C driver's log messages. The driver keeps ONE callback for the whole
    process (the last cluster's), so there is one instance. While a connection attempt runs
    the messages are held back: if it fails, ConnectError says why in one line and they are
    dropped; once it works they are passed on to the `acsylla` logger."""

    MAX_HELD = 1000

    def __init__(self) -> None:
        self._attempts = 0
        self._held: list[tuple[int, str]] = []

    def __call__(self, message: Any) -> None:
        text = str(message.message)
        if "Could not retrieve sharding info" in text:
            return  # logged at ERROR per connection: shard awareness is a ScyllaDB feature
        level = _LEVELS.get(str(message.log_level).upper(), logging.DEBUG)
        if self._attempts and len(self._held) < self.MAX_HELD:
            self._held.append((level, text))
        elif not self._attempts:
            _driver_log.log(level, "%s", text)

    def attempt(self) -> None:
        self._attempts += 1

    def done(self, *, connected: bool) -> None:
        self._attempts -= 1
        if self._attempts:
            return
        held, self._held = self._held, []
        for level, text in held if connected else ():
            _driver_log.log(level, "%s", text)


_DRIVER_LOG = _DriverLog()


@dataclass(frozen=True)
class Statement:
    name: str
    cql: str
    prepared: Any
    consistency: Any
    idempotent: bool
    # Result columns that hold uuids (returned as text by the driver).
    uuid_columns: frozenset[str]


def _consistency(level: str) -> Any:
    return acsylla.Consistency[level]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _trusted_pem(settings: Settings) -> str:
    path = settings.tls_ca_file or ssl.get_default_verify_paths().cafile
    if not path:
        raise ConfigError("CASSANDRA_TLS=true with acsylla needs CASSANDRA_TLS_CA_FILE (no system CA bundle found)")
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"CASSANDRA_TLS_CA_FILE {path!r} is not a readable PEM file: {exc}") from exc


def _cluster(settings: Settings, *, any_datacenter: bool = False) -> Any:
    """A configured cluster object; must be called inside the running event loop."""
    placement: dict[str, Any] = (
        {"load_balance_round_robin": True} if any_datacenter else {"load_balance_dc_aware": settings.local_dc}
    )
    cluster = acsylla.create_cluster(
        list(settings.cql_hosts),
        port=settings.port,
        # The C++ driver's newest protocol is v4 (Cassandra 5.0 speaks it too).
        protocol_version=min(settings.protocol_version, 4),
        username=settings.username,
        password=(settings.password or "") if settings.username else None,
        token_aware_routing=True,
        request_timeout=float(settings.request_timeout_seconds),
        connect_timeout=float(settings.connect_timeout_seconds),
        consistency=settings.read_consistency,
        queue_size_io=_QUEUE_SIZE,
        exponential_reconnect_base_delay_ms=_RECONNECT_BASE_MS,
        exponential_reconnect_max_delay_ms=_RECONNECT_MAX_MS,
        log_level="warn",
        logging_callback=_DRIVER_LOG,
        application_name="player-session-service",
        # Only idempotent statements are sent twice; every statement of ours is one.
        speculative_execution_policy=(
            acsylla.base.SpeculativeExecutionPolicy(settings.speculative_delay_ms, 1)
            if settings.speculative_delay_ms
            else None
        ),
        **placement,
    )
    try:
        if settings.tls_enabled:
            if not settings.tls_verify:
                cluster.set_ssl(True, verify_flags=0)
            elif all(_is_ip(host) for host in settings.cql_hosts):
                cluster.set_ssl(True, trusted_cert=_trusted_pem(settings), verify_flags=_VERIFY_CERT | _VERIFY_IP)
            else:
                cluster.set_hostname_resolution(True)
                cluster.set_ssl(True, trusted_cert=_trusted_pem(settings), verify_flags=_VERIFY_CERT | _VERIFY_DNS)
    except cass.CassException as exc:
        cluster.destroy()
        raise ConfigError(f"CASSANDRA_TLS_CA_FILE {settings.tls_ca_file!r} is not a readable PEM file: {exc}") from exc
    except ConfigError:
        cluster.destroy()
        raise
    return cluster


def describe_connect_error(exc: BaseException, settings: Settings) -> str:
    """Why connecting failed, in one line that names the setting to look at."""
    where = f"Cassandra at {','.join(settings.cql_hosts)}:{settings.port}"
    text = " ".join(str(exc).split())
    lowered = text.lower()
    if isinstance(exc, cass.CassErrorServerBadCredentials) or "credentials" in lowered or "authenticat" in lowered:
        if not settings.username:
            return f"{where} requires a password: set CASSANDRA_USERNAME and CASSANDRA_PASSWORD ({text})"
        return (
            f"{where} refused the credentials of user {settings.username!r} "
            f"(CASSANDRA_USERNAME/CASSANDRA_PASSWORD): {text}"
        )
    if "local datacenter" in lowered:
        return f"{where} has no node in datacenter {settings.local_dc!r} (CASSANDRA_LOCAL_DC)"
    if isinstance(exc, cass.CassErrorSourceSsl) or "ssl" in lowered:
        if "wrong version number" in lowered or "protocol" in lowered:
            return (
                f"{where} is unreachable (the TLS handshake failed: if the node does not use client "
                f"encryption, set CASSANDRA_TLS=false): {text}"
            )
        return (
            f"{where} is unreachable: its TLS certificate is not trusted (set CASSANDRA_TLS_CA_FILE to the CA "
            f"that signed it, or CASSANDRA_TLS_VERIFY=false): {text}"
        )
    if not settings.tls_enabled and ("closed prematurely" in lowered or "reset" in lowered):
        hint = "the node closed the connection: if it requires TLS, set CASSANDRA_TLS=true"
        return f"{where} is unreachable ({hint}): {text}"
    return f"{where} is unreachable: {text}"


async def _open(settings: Settings) -> tuple[Any, Any]:
    _DRIVER_LOG.attempt()
    connected = False
    try:
        cluster = _cluster(settings)
        try:
            session = await cluster.create_session()
        except Exception as exc:
            cluster.destroy()
            if not isinstance(exc, cass.CassException):
                raise
            message = describe_connect_error(exc, settings)
            if "local datacenter" in str(exc).lower():
                # The DC-aware policy saw no node at all; a connection without it can ask.
                known = await _datacenters(settings)
                message += f"; its datacenters: {', '.join(known)}" if known else ""
            raise ConnectError(message) from exc
        connected = True
        return cluster, session
    finally:
        _DRIVER_LOG.done(connected=connected)


async def _datacenters(settings: Settings) -> list[str]:
    try:
        cluster = _cluster(settings, any_datacenter=True)
    except ConfigError:
        return []
    try:
        session = await cluster.create_session()
    except Exception:
        cluster.destroy()
        return []
    try:
        found = set()
        for table in ("system.local", "system.peers"):
            result = await session.execute(acsylla.create_statement(f"SELECT data_center FROM {table}"))
            found |= {row.as_dict()["data_center"] for row in result}
        return sorted(dc for dc in found if dc)
    except Exception:
        return []
    finally:
        await session.close()
        cluster.destroy()


class AcsyllaBackend:
    def __init__(self, cluster: Any, session: Any, settings: Settings) -> None:
        self._cluster = cluster
        self._session = session
        self.settings = settings
        self.observers: list[StatementObserver] = []
        self._write = _consistency(settings.write_consistency)
        self._read = _consistency(settings.read_consistency)
        self._uuid_columns: dict[tuple[str, str], asyncio.Future[frozenset[str]]] = {}

    @classmethod
    async def connect(cls, settings: Settings) -> AcsyllaBackend:
        cluster, session = await _open(settings)
        log.info(
            "connected to Cassandra %s with acsylla %s (protocol v%s)",
            ",".join(settings.cql_hosts),
            acsylla.version.__version__,
            min(settings.protocol_version, 4),
        )
        return cls(cluster, session, settings)

    async def close(self) -> None:
        try:
            await self._session.close()
        finally:
            self._cluster.destroy()

    async def _table_uuid_columns(self, cql: str) -> frozenset[str]:
        match = _FROM_TABLE.search(cql)
        if match is None:
            return frozenset()
        key = (match.group(1).lower(), match.group(2).lower())
        lookup = self._uuid_columns.get(key)
        if lookup is None:
            # Shared: the service prepares its statements concurrently, several per table.
            lookup = self._uuid_columns[key] = asyncio.ensure_future(self._read_uuid_columns(*key))
        return await lookup

    async def _read_uuid_columns(self, keyspace: str, table: str) -> frozenset[str]:
        rows = await self.execute_schema(
            "SELECT column_name, type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
            (keyspace, table),
        )
        return frozenset(r["column_name"] for r in rows if r["type"] in ("uuid", "timeuuid"))

    async def prepare(self, name: str, cql: str, *, write: bool, idempotent: bool = True) -> Statement:
        consistency = self._write if write else self._read
        try:
            prepared = await self._session.create_prepared(cql, consistency=consistency)
        except Exception as exc:
            raise _storage_error(name, exc) from exc
        return Statement(name, cql, prepared, consistency, idempotent, await self._table_uuid_columns(cql))

    def _bound(self, statement: Statement, params: Sequence[Any], **options: Any) -> Any:
        try:
            # The consistency level was given to create_prepared and travels with every bind.
            bound = statement.prepared.bind(params if isinstance(params, list | tuple) else list(params), **options)
        except Exception as exc:  # a value the column cannot take: our bug, not the cluster's
            raise _storage_error(statement.name, exc) from exc
        # Idempotent statements may be retried and speculatively executed by the driver.
        bound.set_is_idempotent(statement.idempotent)
        return bound

    async def _execute(self, name: str, request: Any, *, batch: bool = False, cql: str | None = None) -> Any:
        # No semaphore in front: past _QUEUE_SIZE requests in flight the driver refuses at
        # once (CassErrorLibRequestQueueFull → 503 + Retry-After), which is the backpressure.
        try:
            if batch:
                return await self._session.execute_batch(request)
            return await self._session.execute(request)
        except cass.CassErrorLibNoHostsAvailable as exc:
            raise await self._explain_no_hosts(name, cql, exc) from exc
        except Exception as exc:
            raise _storage_error(name, exc) from exc

    async def _explain_no_hosts(self, name: str, cql: str | None, exc: Exception) -> Exception:
        """The driver says "no hosts available" both when the cluster is down and when a
        node no longer knows a prepared statement and preparing it again fails (its table
        was dropped: our configuration problem, not a reason to retry). Preparing it once
        more tells which."""
        if cql is not None:
            try:
                await asyncio.wait_for(self._session.create_prepared(cql), self.settings.request_timeout_seconds)
            except _REJECTED as rejected:
                return _storage_error(name, rejected)
            except Exception:  # noqa: S110 - still unavailable: say so below
                pass
        return _storage_error(name, exc)

    async def execute(self, statement: Prepared, params: Sequence[Any] = ()) -> list[Row]:
        s = _statement(statement)
        with Observed(self.observers, s.name):
            bound = self._bound(s, params)
            result = await self._execute(s.name, bound, cql=s.cql)
            rows = _rows(result, s.uuid_columns)
            while result.has_more_pages():
                bound.set_page_state(result.page_state())
                result = await self._execute(s.name, bound, cql=s.cql)
                rows += _rows(result, s.uuid_columns)
            return rows

    async def execute_page(
        self, statement: Prepared, params: Sequence[Any], *, page_size: int, paging_state: bytes | None = None
    ) -> Page:
        s = _statement(statement)
        with Observed(self.observers, s.name):
            bound = self._bound(s, params, page_size=page_size)
            if paging_state is not None:
                bound.set_page_state(paging_state)
            result = await self._execute(s.name, bound, cql=s.cql)
            state = result.page_state() if result.has_more_pages() else None
            return Page(_rows(result, s.uuid_columns), state)

    async def execute_batch(self, name: str, statements: Sequence[tuple[Prepared, Sequence[Any]]]) -> None:
        batch = acsylla.create_batch_unlogged()
        for statement, params in statements:
            batch.add_statement(self._bound(_statement(statement), params))
        batch.set_consistency(self._write)
        batch.set_is_idempotent(True)
        with Observed(self.observers, name):
            # "No hosts available" is explained by preparing a statement of the batch again
            # (its table may be gone), as for a single statement.
            first = _statement(statements[0][0]).cql if statements else None
            await self._execute(name, batch, batch=True, cql=first)

    async def execute_schema(self, cql: str, params: Sequence[Any] = ()) -> list[Row]:
        # Unprepared: the driver infers each value's CQL type from its Python type (text here).
        statement = acsylla.create_statement(
            cql, parameters=list(params) or None, timeout=float(max(60, self.settings.request_timeout_seconds))
        )
        result = await self._execute("schema", statement)
        return _rows(result, frozenset())

    async def ping(self) -> str:
        statement = acsylla.create_statement(
            "SELECT release_version FROM system.local", consistency=acsylla.Consistency.ONE
        )
        try:
            result = await self._session.execute(statement)
        except Exception as exc:
            raise StorageUnavailable(f"Cassandra did not answer: {type(exc).__name__}: {exc}") from exc
        row = result.first()
        return str(row.as_dict()["release_version"]) if row is not None else "unknown"

    async def diagnose(self) -> str | None:
        try:
            cluster, session = await _open(self.settings)
        except (ConnectError, ConfigError) as exc:
            return str(exc)
        try:
            await session.close()
        finally:
            cluster.destroy()
        return None


def _statement(prepared: Prepared) -> Statement:
    # Only this backend's own statements ever come back to it.
    assert isinstance(prepared, Statement)
    return prepared


def _rows(result: Any, uuid_columns: frozenset[str]) -> list[Row]:
    rows: list[Row] = [row.as_dict() for row in result]
    if uuid_columns:
        for row in rows:
            for column in uuid_columns & row.keys():
                if isinstance(row[column], str):
                    row[column] = UUID(row[column])
    return rows


def _storage_error(name: str, exc: BaseException) -> StorageRejected | StorageUnavailable:
    if isinstance(exc, _REJECTED):
        log.error("Cassandra rejected %s: %s", name, exc)
        return StorageRejected(f"Cassandra rejected {name}: {type(exc).__name__}")
    # Unavailable, timeouts, overload, lost connections, a full queue, a closed session.
    return StorageUnavailable(f"Cassandra failed on {name}: {type(exc).__name__}")
