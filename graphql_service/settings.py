"""Configuration, read once from the environment.

`TABLE` names every setting once: its variable, type, default, range and meaning. Parsing
(`Settings.from_env`) and the README's configuration table (`markdown_table`, kept equal
by tests/test_settings.py) both come from it. Nothing else in the package reads
``os.environ``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from .domain.errors import ConfigError

RetentionClock = Literal["event", "ingestion"]
LogFormat = Literal["text", "json"]
Driver = Literal["acsylla", "cassandra-driver"]

ONE_YEAR_SECONDS = 365 * 24 * 3600
# Cassandra refuses TTLs above 20 years.
MAX_TTL_SECONDS = 20 * 365 * 24 * 3600
LOCAL_REPLICATION = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s]+", re.IGNORECASE)
__all__ = ["ConfigError", "Settings"]


@dataclass(frozen=True)
class Setting:
    env: str
    attr: str
    kind: Literal["str", "int", "bool", "choice", "hosts", "list", "origins", "path", "keyspace"]
    default: Any
    meaning: str
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()
    # How the default reads in the README when it is not simply the value.
    shown: str | None = None

    def describe_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.default is None or self.default == ():
            return "*(none)*"
        return f"`{str(self.default).lower() if isinstance(self.default, bool) else self.default}`"

    def parse(self, raw: str) -> Any:
        """`raw` as this setting's value; ConfigError naming the variable when it is not one
        (the command line checks its setting options with this too)."""
        return _parse(self, raw)


TABLE: tuple[Setting, ...] = (
    Setting(
        "CASSANDRA_DRIVER",
        "driver",
        "choice",
        "acsylla",
        "which client library talks to Cassandra: `acsylla` (asyncio over the C/C++ driver, protocol v4; "
        "the faster, see BENCHMARKS.md) or `cassandra-driver` (the DataStax Python driver)",
        choices=("acsylla", "cassandra-driver"),
    ),
    Setting(
        "CASSANDRA_CONTACT_POINTS",
        "contact_points",
        "hosts",
        (),
        "comma-separated hosts of an existing cluster; empty = the local node this project starts",
        shown="*(empty)*",
    ),
    Setting("CASSANDRA_PORT", "port", "int", 9042, "CQL port (also the local node's port)", 1, 65535),
    Setting(
        "CASSANDRA_LOCAL_DC",
        "local_dc",
        "str",
        "datacenter1",
        "the local datacenter for token-aware, DC-aware load balancing (Azure Cosmos DB: the region, "
        "e.g. `West Europe`); a name the cluster does not have stops start-up with the names it has",
    ),
    Setting("CASSANDRA_KEYSPACE", "keyspace", "keyspace", "player_sessions", "keyspace to create and use"),
    Setting(
        "CASSANDRA_REPLICATION",
        "replication",
        "str",
        LOCAL_REPLICATION,
        "keyspace replication, as CQL; use `{'class': 'NetworkTopologyStrategy', 'dc1': 3}` on a real cluster",
    ),
    Setting(
        "CASSANDRA_READ_CONSISTENCY",
        "read_consistency",
        "choice",
        "LOCAL_QUORUM",
        "consistency of reads",
        choices=CONSISTENCY_LEVELS,
    ),
    Setting(
        "CASSANDRA_WRITE_CONSISTENCY",
        "write_consistency",
        "choice",
        "LOCAL_QUORUM",
        "consistency of writes; keep R + W > RF (read-your-writes across API processes)",
        choices=CONSISTENCY_LEVELS,
    ),
    Setting("CASSANDRA_USERNAME", "username", "str", None, "PasswordAuthenticator user"),
    Setting("CASSANDRA_PASSWORD", "password", "str", None, "its password; a password without a user name is an error"),
    Setting(
        "CASSANDRA_TLS_CA_FILE",
        "tls_ca_file",
        "str",
        None,
        "CA / server certificate (PEM) to verify against; setting it turns TLS on",
    ),
    Setting(
        "CASSANDRA_TLS",
        "tls_enabled",
        "bool",
        False,
        "TLS to the native port; `true` without a CA file uses the system's CAs",
        shown="on if a CA file is set",
    ),
    Setting(
        "CASSANDRA_TLS_VERIFY",
        "tls_verify",
        "bool",
        True,
        "verify the server certificate and host name; `false` still encrypts",
    ),
    Setting(
        "CASSANDRA_PROTOCOL_VERSION",
        "protocol_version",
        "int",
        5,
        "native protocol version of cassandra-driver (`4` for Azure Cosmos DB or Cassandra 3.x); "
        "acsylla always speaks v4",
        3,
        5,
    ),
    Setting("CASSANDRA_CONNECT_TIMEOUT", "connect_timeout_seconds", "int", 10, "seconds to connect", 1, 600),
    Setting(
        "CASSANDRA_REQUEST_TIMEOUT",
        "request_timeout_seconds",
        "int",
        10,
        "seconds Cassandra may take: per statement, and for all the statements of one HTTP request "
        "together (past it: 503 + Retry-After)",
        1,
        600,
    ),
    Setting(
        "CASSANDRA_SPECULATIVE_DELAY_MS",
        "speculative_delay_ms",
        "int",
        0,
        "after this many ms without an answer a statement is also sent to the next replica (once); "
        "0 = off. Near the p99 latency on a cluster with RF ≥ 3, a stalled node costs this delay "
        "instead of a timeout",
        0,
        60000,
    ),
    Setting(
        "RETENTION_SECONDS",
        "retention_seconds",
        "int",
        ONE_YEAR_SECONDS,
        "how long data is kept (Cassandra 5.0 in its default `storage_compatibility_mode: CASSANDRA_4` "
        "refuses expiry dates after 2038-01-19: such writes get `500` and a log line, not a retry-forever `503`)",
        1,
        MAX_TTL_SECONDS,
        shown="`31536000` (365 days)",
    ),
    Setting(
        "RETENTION_CLOCK",
        "retention_clock",
        "choice",
        "event",
        "`event`: count retention from the event's `ts`; `ingestion`: from when it is written",
        choices=("event", "ingestion"),
    ),
    Setting(
        "MAX_FUTURE_SECONDS",
        "max_future_seconds",
        "int",
        24 * 3600,
        "how far in the future a `ts` may be",
        0,
        MAX_TTL_SECONDS,
    ),
    Setting(
        "START_SHARDS",
        "start_shards",
        "int",
        8,
        "partitions one minute of session starts is spread over, a power of two from 8; about one per "
        "1,000 starts/s at peak (docs/architecture.md). Safe to change while running: each minute records its count",
        8,
        1024,
    ),
    Setting(
        "SETTLE_INTERVAL_SECONDS",
        "settle_interval_seconds",
        "int",
        2,
        "how often each server process recounts the per-country start buckets changed since its last pass "
        "(so queries find them counted); 0 turns the background task off",
        0,
        3600,
    ),
    Setting("HOST", "host", "str", "127.0.0.1", "where `serve` listens"),
    Setting("PORT", "http_port", "int", 8000, "the HTTP port of `serve`", 1, 65535),
    Setting(
        "WEB_CONCURRENCY", "workers", "int", 1, "uvicorn worker processes (each has its own Cassandra session)", 1, 256
    ),
    Setting(
        "MAX_BODY_BYTES", "max_body_bytes", "int", 64 * 1024, "request body limit (413 above)", 1024, 64 * 1024 * 1024
    ),
    Setting(
        "HTTP_HEADER_TIMEOUT_SECONDS",
        "header_timeout_seconds",
        "int",
        10,
        "a connection whose request line and headers have not all arrived this many seconds after it "
        "opened (or after the first byte of its next request) is closed, with `408` if a request had "
        "begun (slowloris)",
        1,
        3600,
    ),
    Setting(
        "HTTP_MAX_CONNECTIONS_PER_CLIENT",
        "max_connections_per_client",
        "int",
        100,
        "connections one client address may hold open to one process, websockets included; one more "
        "is answered `503` and closed at once. `0`: no cap (behind a proxy every client has the "
        "proxy's address: docs/operations.md)",
        0,
        1_000_000,
    ),
    Setting("GRAPHIQL", "graphiql", "bool", True, "serve GraphiQL at `/graphql` to browsers (the Docker image: off)"),
    Setting(
        "GRAPHQL_INTROSPECTION",
        "graphql_introspection",
        "bool",
        True,
        "answer GraphQL introspection queries (the Docker image: off; `schema.graphql` documents the API)",
    ),
    Setting(
        "API_KEYS",
        "api_keys",
        "list",
        (),
        "comma-separated keys; when set, `POST /events` and `submitEvents` need one as "
        "`Authorization: Bearer <key>` or `X-API-Key: <key>` (else 401)",
        shown="*(none: ingest is open)*",
    ),
    Setting(
        "READ_API_KEYS",
        "read_api_keys",
        "list",
        (),
        "likewise for reads (`/sessions`, `/session-starts`, `/players/…`, GraphQL queries); an "
        "ingest key also reads. Set, the dashboard asks for a key",
        shown="*(none: reads are open)*",
    ),
    Setting("METRICS_TOKEN", "metrics_token", "str", None, "when set, `/metrics` needs it as a bearer token"),
    Setting(
        "ALLOWED_HOSTS",
        "allowed_hosts",
        "list",
        (),
        "comma-separated Host names served (`*.example.com` for subdomains); others get 400",
        shown="*(none: any Host)*",
    ),
    Setting(
        "CORS_ALLOW_ORIGINS",
        "cors_allow_origins",
        "origins",
        (),
        "comma-separated origins (`https://game.example.com`) whose web pages may call the API (CORS), "
        "or `*` for any; API keys go in headers, never cookies",
        shown="*(none: no CORS headers)*",
    ),
    Setting(
        "GZIP_MIN_BYTES",
        "gzip_min_bytes",
        "int",
        1024,
        "responses at least this large are gzip-compressed for clients that send `Accept-Encoding: gzip`; "
        "`0` turns response compression off",
        0,
        64 * 1024 * 1024,
    ),
    Setting("MASK_ERRORS", "mask_errors", "bool", True, "hide unexpected internal GraphQL errors"),
    Setting(
        "SUBSCRIPTION_POLL_SECONDS",
        "subscription_poll_seconds",
        "int",
        2,
        "how often each process reads what its GraphQL subscriptions watch (one read per distinct "
        "subscription and interval, however many subscribers)",
        1,
        3600,
    ),
    Setting(
        "SUBSCRIPTION_MAX_FEEDS",
        "subscription_max_feeds",
        "int",
        500,
        "distinct subscriptions (query and arguments) one process polls; one more is refused with "
        "`CAPACITY_REACHED` until one ends. With SUBSCRIPTION_POLL_SECONDS it bounds the reads polling "
        "costs (at most 8 in flight), however many subscribers",
        1,
        1_000_000,
    ),
    Setting(
        "WS_MAX_CONNECTIONS",
        "ws_max_connections",
        "int",
        1000,
        "GraphQL websocket connections one process holds; more are refused (`503`)",
        1,
        1_000_000,
    ),
    Setting(
        "WS_MAX_SUBSCRIPTIONS",
        "ws_max_subscriptions",
        "int",
        20,
        "operations one GraphQL websocket connection may run at once; more get an `error` message",
        1,
        10_000,
    ),
    Setting(
        "WS_IDLE_SECONDS",
        "ws_idle_seconds",
        "int",
        300,
        "a GraphQL websocket connection without a subscription for this long is closed (code 4000); "
        "one that sends no `connection_init` is closed after at most 10 s (4408)",
        1,
        86_400,
    ),
    Setting(
        "LOG_FORMAT",
        "log_format",
        "choice",
        "text",
        "`text` or `json` (one JSON object per line); see Observability in docs/operations.md",
        choices=("text", "json"),
    ),
    Setting(
        "LOG_LEVEL",
        "log_level",
        "choice",
        "INFO",
        "`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`",
        choices=LOG_LEVELS,
    ),
    # The name prometheus-client itself reads (ops/metrics.py).
    Setting(
        "PROMETHEUS_MULTIPROC_DIR",
        "metrics_multiprocess_dir",
        "path",
        None,
        "an existing, empty directory: `/metrics` then sums all `WEB_CONCURRENCY` workers",
    ),
    Setting(
        "CASSANDRA_VERSION",
        "cassandra_version",
        "str",
        None,
        "local node: pin a Cassandra version",
        shown="newest 5.0.x",
    ),
    Setting("CASSANDRA_HEAP", "cassandra_heap", "str", "1G", "local node: JVM heap"),
    Setting(
        "CASSANDRA_START_TIMEOUT",
        "cassandra_start_timeout_seconds",
        "int",
        180,
        "local node: seconds to wait for CQL",
        10,
        3600,
    ),
    Setting("JAVA_HOME", "java_home", "path", None, "local node: a JDK 17 or 11 to use first", shown="*(searched)*"),
    Setting(
        "PSS_CACHE_DIR",
        "cache_dir",
        "path",
        None,
        "local node: where the Cassandra jars are cached",
        shown="`$XDG_CACHE_HOME/player-session-service` or `~/.cache/…`",
    ),
    Setting(
        "PSS_RUN_DIR",
        "run_dir",
        "path",
        None,
        "local node: data, logs and pid file (`.run/cassandra/`)",
        shown="`.run`",
    ),
    Setting(
        "CQL_DIR",
        "cql_dir",
        "path",
        None,
        "where the migration files are",
        shown="the package's `store/cql/` (`cql/` in a checkout)",
    ),
)
_BY_ATTR = {s.attr: s for s in TABLE}
# Taken exactly as given (a password may start or end with a space).
SECRETS = frozenset({"CASSANDRA_PASSWORD", "METRICS_TOKEN"})


def _default(attr: str) -> Any:
    return _BY_ATTR[attr].default


def _default_cache_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "player-session-service"


def _default_cql_dir() -> Path:
    # Package data, so an installed wheel migrates from any directory; the checkout's
    # top-level `cql/` is a symbolic link to this same directory.
    return Path(__file__).resolve().parent / "store" / "cql"


def _parse(setting: Setting, raw: str) -> Any:
    key = setting.env
    if setting.kind == "int":
        # ASCII digits only (int() would also take "1_0" and full-width digits).
        text = raw[1:] if raw.startswith("-") else raw
        if not (text.isascii() and text.isdigit()):
            raise ConfigError(f"{key} must be an integer, got {raw!r}")
        value = int(raw)
        if not setting.low <= value <= setting.high:
            raise ConfigError(f"{key} must be between {setting.low} and {setting.high}, got {value}")
        return value
    if setting.kind == "bool":
        lowered = raw.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{key} must be true or false, got {raw!r}")
    if setting.kind == "choice":
        for choice in setting.choices:
            if raw.lower() == choice.lower():
                return choice
        raise ConfigError(f"{key} must be one of {', '.join(sorted(setting.choices))}, got {raw!r}")
    if setting.kind in ("hosts", "list"):
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    if setting.kind == "origins":
        origins = tuple(p.strip() for p in raw.split(",") if p.strip())
        for origin in origins:
            # A browser's Origin header is exactly scheme://host[:port]; anything more would never match.
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ConfigError(f"{key} takes origins like https://game.example.com (no path, no /), got {origin!r}")
        return origins
    if setting.kind == "path":
        return Path(raw)
    if setting.kind == "keyspace":
        if not raw.replace("_", "a").isalnum() or not raw[0].isalpha() or len(raw) > 48 or not raw.isascii():
            raise ConfigError(f"{key} must be a CQL identifier (letters, digits, _), got {raw!r}")
        return raw
    return raw


@dataclass(frozen=True)
class Settings:
    driver: Driver = _default("driver")
    # An empty contact point list means "the local development node this project starts".
    contact_points: tuple[str, ...] = _default("contact_points")
    port: int = _default("port")
    local_dc: str = _default("local_dc")
    keyspace: str = _default("keyspace")
    replication: str = _default("replication")
    read_consistency: str = _default("read_consistency")
    write_consistency: str = _default("write_consistency")
    username: str | None = _default("username")
    password: str | None = _default("password")
    tls_ca_file: str | None = _default("tls_ca_file")
    tls_enabled: bool = _default("tls_enabled")
    tls_verify: bool = _default("tls_verify")
    protocol_version: int = _default("protocol_version")
    connect_timeout_seconds: int = _default("connect_timeout_seconds")
    request_timeout_seconds: int = _default("request_timeout_seconds")
    speculative_delay_ms: int = _default("speculative_delay_ms")
    retention_seconds: int = _default("retention_seconds")
    retention_clock: RetentionClock = _default("retention_clock")
    max_future_seconds: int = _default("max_future_seconds")
    start_shards: int = _default("start_shards")
    settle_interval_seconds: int = _default("settle_interval_seconds")
    host: str = _default("host")
    http_port: int = _default("http_port")
    workers: int = _default("workers")
    header_timeout_seconds: int = _default("header_timeout_seconds")
    max_connections_per_client: int = _default("max_connections_per_client")
    max_body_bytes: int = _default("max_body_bytes")
    graphiql: bool = _default("graphiql")
    graphql_introspection: bool = _default("graphql_introspection")
    api_keys: tuple[str, ...] = _default("api_keys")
    read_api_keys: tuple[str, ...] = _default("read_api_keys")
    metrics_token: str | None = _default("metrics_token")
    allowed_hosts: tuple[str, ...] = _default("allowed_hosts")
    cors_allow_origins: tuple[str, ...] = _default("cors_allow_origins")
    gzip_min_bytes: int = _default("gzip_min_bytes")
    mask_errors: bool = _default("mask_errors")
    subscription_poll_seconds: int = _default("subscription_poll_seconds")
    subscription_max_feeds: int = _default("subscription_max_feeds")
    ws_max_connections: int = _default("ws_max_connections")
    ws_max_subscriptions: int = _default("ws_max_subscriptions")
    ws_idle_seconds: int = _default("ws_idle_seconds")
    log_format: LogFormat = _default("log_format")
    log_level: str = _default("log_level")
    # Set: prometheus-client keeps values in files there and /metrics sums every worker's.
    metrics_multiprocess_dir: Path | None = _default("metrics_multiprocess_dir")
    cassandra_version: str | None = _default("cassandra_version")
    cassandra_heap: str = _default("cassandra_heap")
    cassandra_start_timeout_seconds: int = _default("cassandra_start_timeout_seconds")
    java_home: Path | None = _default("java_home")
    cache_dir: Path = field(default_factory=lambda: _default_cache_dir(os.environ))
    run_dir: Path = field(default_factory=lambda: Path(".run").resolve())
    cql_dir: Path = field(default_factory=_default_cql_dir)

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
        values: dict[str, Any] = {}
        for setting in TABLE:
            # Secrets are taken as given (a password may start or end with a space).
            raw = env.get(setting.env, "")
            raw = raw if setting.env in SECRETS else raw.strip()
            if raw:
                values[setting.attr] = _parse(setting, raw)
        if values.get("password") and not values.get("username"):
            # Without a user name no credentials are sent at all; say so instead of ignoring it.
            raise ConfigError("CASSANDRA_PASSWORD is set but CASSANDRA_USERNAME is not")
        if "tls_enabled" not in values and values.get("tls_ca_file"):
            values["tls_enabled"] = True
        shards = values.get("start_shards")
        if shards is not None and shards & (shards - 1):
            # A loser's row is deleted at each power of two up to the minute's count (core/starts.py).
            raise ConfigError(f"START_SHARDS must be a power of two (8, 16, 32, … 1024), got {shards}")
        multiproc_dir = values.get("metrics_multiprocess_dir")
        if multiproc_dir is not None and not multiproc_dir.is_dir():
            raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR must be an existing directory, got {str(multiproc_dir)!r}")
        if "cache_dir" not in values:
            values["cache_dir"] = _default_cache_dir(env)
        values["run_dir"] = Path(values.get("run_dir") or ".run").resolve()
        return cls(**values)


def markdown_table() -> str:
    """The README's configuration table."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{s.env}` | {s.describe_default()} | {s.meaning} |" for s in TABLE]
    return "\n".join(lines)


# Every Settings field that is read from the environment has a row in TABLE.
_unlisted = {f.name for f in fields(Settings)} - set(_BY_ATTR)
assert not _unlisted, f"settings without a row in TABLE: {_unlisted}"
