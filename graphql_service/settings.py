"""Configuration, read once from the environment.

Every knob the service has lives here, so the README's configuration table and this
module can be checked against each other. Nothing else in the package reads
``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

RetentionClock = Literal["event", "ingestion"]
LogFormat = Literal["text", "json"]

ONE_YEAR_SECONDS = 365 * 24 * 3600
# Cassandra refuses TTLs above 20 years.
MAX_TTL_SECONDS = 20 * 365 * 24 * 3600
LOCAL_REPLICATION = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
CONSISTENCY_LEVELS = frozenset({"ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE"})
LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


class ConfigError(ValueError):
    """A setting has a value the service cannot use; the message names the variable."""


def _int(env: Mapping[str, str], key: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{key} must be true or false, got {raw!r}")


def _choice(env: Mapping[str, str], key: str, default: str, allowed: frozenset[str]) -> str:
    value = env.get(key, "").strip() or default
    if value.upper() in allowed:
        return value.upper()
    if value in allowed:
        return value
    raise ConfigError(f"{key} must be one of {', '.join(sorted(allowed))}, got {value!r}")


def _default_cache_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "player-session-service"


@dataclass(frozen=True)
class Settings:
    # Cassandra connection. An empty contact point list means "the local development
    # node this project starts itself" (see devnode.py).
    contact_points: tuple[str, ...] = ()
    port: int = 9042
    local_dc: str = "datacenter1"
    keyspace: str = "player_sessions"
    replication: str = LOCAL_REPLICATION
    read_consistency: str = "LOCAL_QUORUM"
    write_consistency: str = "LOCAL_QUORUM"
    username: str | None = None
    password: str | None = None
    tls_ca_file: str | None = None
    tls_enabled: bool = False
    tls_verify: bool = True
    # v5 is what Cassandra 4.0+ speaks; Azure Cosmos DB for Apache Cassandra needs 4.
    protocol_version: int = 5
    connect_timeout_seconds: int = 10
    request_timeout_seconds: int = 10

    # Domain rules.
    retention_seconds: int = ONE_YEAR_SECONDS
    retention_clock: RetentionClock = "event"
    max_future_seconds: int = 24 * 3600

    # HTTP.
    host: str = "127.0.0.1"
    http_port: int = 8000
    workers: int = 1
    max_body_bytes: int = 64 * 1024
    graphiql: bool = True
    mask_errors: bool = True

    # Observability (logs.py, metrics.py).
    log_format: LogFormat = "text"
    log_level: str = "INFO"
    # Set: prometheus-client keeps values in files there and /metrics sums every worker's.
    metrics_multiprocess_dir: Path | None = None

    # The local development node.
    cache_dir: Path = field(default_factory=lambda: _default_cache_dir(os.environ))
    run_dir: Path = field(default_factory=lambda: Path(".run").resolve())
    cassandra_version: str | None = None
    cassandra_heap: str = "1G"
    cassandra_start_timeout_seconds: int = 180
    java_home: Path | None = None
    cql_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent / "cql")

    @property
    def uses_local_node(self) -> bool:
        return not self.contact_points

    @property
    def cql_hosts(self) -> tuple[str, ...]:
        return self.contact_points or ("127.0.0.1",)

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        points = tuple(p.strip() for p in env.get("CASSANDRA_CONTACT_POINTS", "").split(",") if p.strip())
        keyspace = env.get("CASSANDRA_KEYSPACE", "").strip() or "player_sessions"
        if not keyspace.replace("_", "a").isalnum() or not keyspace[0].isalpha() or len(keyspace) > 48:
            raise ConfigError(f"CASSANDRA_KEYSPACE must be a CQL identifier (letters, digits, _), got {keyspace!r}")
        clock = env.get("RETENTION_CLOCK", "").strip().lower() or "event"
        if clock not in ("event", "ingestion"):
            raise ConfigError(f"RETENTION_CLOCK must be 'event' or 'ingestion', got {clock!r}")
        ca_file = env.get("CASSANDRA_TLS_CA_FILE", "").strip() or None
        if env.get("CASSANDRA_PASSWORD") and not env.get("CASSANDRA_USERNAME"):
            # Without a user name no credentials are sent at all; say so instead of ignoring it.
            raise ConfigError("CASSANDRA_PASSWORD is set but CASSANDRA_USERNAME is not")
        log_format = env.get("LOG_FORMAT", "").strip().lower() or "text"
        if log_format not in ("text", "json"):
            raise ConfigError(f"LOG_FORMAT must be 'text' or 'json', got {log_format!r}")
        # The name prometheus-client itself reads (metrics.py).
        multiproc_dir = env.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
        if multiproc_dir and not Path(multiproc_dir).is_dir():
            raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR must be an existing directory, got {multiproc_dir!r}")
        return cls(
            contact_points=points,
            port=_int(env, "CASSANDRA_PORT", 9042, low=1, high=65535),
            local_dc=env.get("CASSANDRA_LOCAL_DC", "").strip() or "datacenter1",
            keyspace=keyspace,
            replication=env.get("CASSANDRA_REPLICATION", "").strip() or LOCAL_REPLICATION,
            read_consistency=_choice(env, "CASSANDRA_READ_CONSISTENCY", "LOCAL_QUORUM", CONSISTENCY_LEVELS),
            write_consistency=_choice(env, "CASSANDRA_WRITE_CONSISTENCY", "LOCAL_QUORUM", CONSISTENCY_LEVELS),
            username=env.get("CASSANDRA_USERNAME") or None,
            password=env.get("CASSANDRA_PASSWORD") or None,
            tls_ca_file=ca_file,
            tls_enabled=_bool(env, "CASSANDRA_TLS", ca_file is not None),
            tls_verify=_bool(env, "CASSANDRA_TLS_VERIFY", True),
            protocol_version=_int(env, "CASSANDRA_PROTOCOL_VERSION", 5, low=3, high=5),
            connect_timeout_seconds=_int(env, "CASSANDRA_CONNECT_TIMEOUT", 10, low=1, high=600),
            request_timeout_seconds=_int(env, "CASSANDRA_REQUEST_TIMEOUT", 10, low=1, high=600),
            retention_seconds=_int(env, "RETENTION_SECONDS", ONE_YEAR_SECONDS, low=1, high=MAX_TTL_SECONDS),
            retention_clock=clock,  # type: ignore[arg-type]
            max_future_seconds=_int(env, "MAX_FUTURE_SECONDS", 24 * 3600, low=0, high=MAX_TTL_SECONDS),
            host=env.get("HOST", "").strip() or "127.0.0.1",
            http_port=_int(env, "PORT", 8000, low=1, high=65535),
            workers=_int(env, "WEB_CONCURRENCY", 1, low=1, high=256),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024, low=1024, high=64 * 1024 * 1024),
            graphiql=_bool(env, "GRAPHIQL", True),
            mask_errors=_bool(env, "MASK_ERRORS", True),
            log_format=log_format,  # type: ignore[arg-type]
            log_level=_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS),
            metrics_multiprocess_dir=Path(multiproc_dir) if multiproc_dir else None,
            cache_dir=Path(env["PSS_CACHE_DIR"]) if env.get("PSS_CACHE_DIR") else _default_cache_dir(env),
            run_dir=Path(env.get("PSS_RUN_DIR") or ".run").resolve(),
            cassandra_version=env.get("CASSANDRA_VERSION", "").strip() or None,
            cassandra_heap=env.get("CASSANDRA_HEAP", "").strip() or "1G",
            cassandra_start_timeout_seconds=_int(env, "CASSANDRA_START_TIMEOUT", 180, low=10, high=3600),
            java_home=Path(env["JAVA_HOME"]) if env.get("JAVA_HOME") else None,
            cql_dir=Path(env["CQL_DIR"]) if env.get("CQL_DIR") else Path(__file__).resolve().parent.parent / "cql",
        )
