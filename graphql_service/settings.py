"""Configuration, read once from the environment (pydantic-settings).

Each setting is one field of `Settings`, declared once: its variable, type, default, range
and meaning. Parsing (`Settings.from_env`), the README's configuration table
(`markdown_table`, kept equal by tests/test_settings.py) and the command line's help
(tools/options.py) all come from the fields. The local node's settings are declared the same
way in tools/devnode.py (`NodeSettings`). Nothing else in the package reads ``os.environ``.

To add a setting, add one field and run `make settings-table`:

    name: int = setting("VARIABLE", 10, "what it does, for the README", ge=1, le=600)

(`ge`/`le` for numbers; `shown=` when the README should describe the default instead of
quoting it; `as_given=True` for a secret that is not trimmed.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, get_args, get_origin

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .domain.errors import ConfigError

RetentionClock = Literal["event", "ingestion"]
LogFormat = Literal["text", "json"]
Driver = Literal["acsylla", "cassandra-driver"]
Consistency = Literal["ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
KafkaSecurity = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"]
KafkaSasl = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

ONE_YEAR_SECONDS = 365 * 24 * 3600
# Cassandra refuses TTLs above 20 years.
MAX_TTL_SECONDS = 20 * 365 * 24 * 3600
LOCAL_REPLICATION = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s]+", re.IGNORECASE)
__all__ = ["ConfigError", "EnvSettings", "Settings", "markdown_table", "setting"]

# The mapping `from_env` reads instead of os.environ while it builds one object.
_ENVIRONMENT: ContextVar[Mapping[str, str] | None] = ContextVar("environment", default=None)
Model = TypeVar("Model", bound="EnvSettings")


def setting(
    env: str,
    default: Any = None,
    meaning: str = "",
    *,
    ge: int | None = None,
    le: int | None = None,
    shown: str | None = None,
    as_given: bool = False,
    factory: Any = None,
) -> Any:
    """One setting: read from `env`; `shown` is how the README states a default that is not
    simply the value; `as_given` keeps surrounding spaces (a password may have them)."""
    extra = {"shown": shown, "as_given": as_given}
    # A secret stays out of the repr (and so out of logs and tracebacks).
    common: dict[str, Any] = {"validation_alias": env, "description": meaning, "json_schema_extra": extra}
    if factory is not None:
        return Field(default_factory=factory, repr=not as_given, **common)
    return Field(default, ge=ge, le=le, repr=not as_given, **common)


def _extra(field: FieldInfo) -> dict[str, Any]:
    return field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}


def bounds(field: FieldInfo) -> tuple[int, int]:
    """A number's (ge, le)."""
    found = {name: getattr(m, name) for m in field.metadata for name in ("ge", "le") if hasattr(m, name)}
    return found["ge"], found["le"]


def default_text(field: FieldInfo) -> str:
    """The default as the README states it."""
    shown = _extra(field).get("shown")
    if shown is not None:
        return str(shown)
    if field.default is None or field.default == ():
        return "*(none)*"
    default = field.default
    return f"`{str(default).lower() if isinstance(default, bool) else default}`"


class _Variables(PydanticBaseSettingsSource):
    """Each field's variable from `env`, trimmed (a secret as given); empty means unset. The
    text is turned into the field's type by `EnvSettings._from_text` and pydantic."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        key = str(field.validation_alias)
        raw = self.env.get(key, "")
        return (raw if _extra(field).get("as_given") else raw.strip()), key, False

    def __call__(self) -> dict[str, Any]:
        values = {}
        for name, field in self.settings_cls.model_fields.items():
            raw, key, _ = self.get_field_value(field, name)
            if raw:
                values[key] = raw
        return values


class EnvSettings(BaseSettings):
    """Settings read from environment variables, with one-line errors naming the variable."""

    model_config = SettingsConfigDict(frozen=True, validate_by_name=True, validate_default=True, extra="ignore")
    # Shown first in the README's rows of this class ("local node: ").
    readme_prefix: ClassVar[str] = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Our own environment source instead of pydantic-settings' (no .env, no secrets dir):
        # it reads the mapping `from_env` was given, trims, and leaves parsing to the fields.
        # `Settings(...)` alone reads no variable: its defaults and what it is given.
        env = _ENVIRONMENT.get()
        return (init_settings,) if env is None else (init_settings, _Variables(settings_cls, env))

    @classmethod
    def from_env(cls: type[Model], env: Mapping[str, str] | None = None) -> Model:
        """The settings in `env` (os.environ by default); ConfigError naming each bad variable."""
        token = _ENVIRONMENT.set(os.environ if env is None else env)
        try:
            return cls()
        except ValidationError as exc:
            raise ConfigError("; ".join(cls._problem(error) for error in exc.errors())) from None
        finally:
            _ENVIRONMENT.reset(token)

    def with_overrides(self: Model, **changes: object) -> Model:
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no settings {sorted(unknown)}")
        return self.model_copy(update=changes)

    @classmethod
    def variables(cls) -> dict[str, FieldInfo]:
        return {str(field.validation_alias): field for field in cls.model_fields.values()}

    @classmethod
    def _problem(cls, error: ErrorDetails) -> str:
        if not error["loc"]:  # a rule across settings (a model validator)
            return str(error.get("ctx", {}).get("error", error["msg"]))
        env, got = str(error["loc"][0]), error["input"]
        if error["type"] in ("greater_than_equal", "less_than_equal"):
            low, high = bounds(cls.variables()[env])
            return f"{env} must be between {low} and {high}, got {got}"
        if error["type"] == "bool_parsing":
            return f"{env} must be true or false, got {got!r}"
        if error["type"] == "value_error":
            return f"{env} {error.get('ctx', {}).get('error')}"
        return f"{env}: {error['msg']}, got {got!r}"

    @field_validator("*", mode="before")
    @classmethod
    def _from_text(cls, value: object, info: ValidationInfo) -> object:
        """A variable's text as its field's type, by the type: whole numbers in ASCII digits
        only (int() would also take "1_0" and full-width digits), choices in any case, lists
        comma-separated."""
        if not isinstance(value, str) or info.field_name is None:
            return value
        kind = cls.model_fields[info.field_name].annotation
        if kind is int:
            digits = value.removeprefix("-")
            if not (digits.isascii() and digits.isdigit()):
                raise ValueError(f"must be an integer, got {value!r}")
            return int(value)
        if get_origin(kind) is Literal:
            choices = [str(choice) for choice in get_args(kind)]
            for choice in choices:
                if value.lower() == choice.lower():
                    return choice
            raise ValueError(f"must be one of {', '.join(sorted(choices))}, got {value!r}")
        if get_origin(kind) is tuple:
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


def _default_cql_dir() -> Path:
    # Package data, so an installed wheel migrates from any directory; the checkout's
    # top-level `cql/` is a symbolic link to this same directory.
    return Path(__file__).resolve().parent / "store" / "cql"


class Settings(EnvSettings):
    """The server's settings (and migrate's and import's); the README's configuration table."""

    driver: Driver = setting(
        "CASSANDRA_DRIVER",
        "acsylla",
        "which client library talks to Cassandra: `acsylla` (asyncio over the C/C++ driver, protocol v4; "
        "the faster, see BENCHMARKS.md) or `cassandra-driver` (the DataStax Python driver)",
    )
    # An empty contact point list means "the local development node this project starts".
    contact_points: tuple[str, ...] = setting(
        "CASSANDRA_CONTACT_POINTS",
        (),
        "comma-separated hosts of an existing cluster; empty = the local node this project starts",
        shown="*(empty)*",
    )
    port: int = setting("CASSANDRA_PORT", 9042, "CQL port (also the local node's port)", ge=1, le=65535)
    local_dc: str = setting(
        "CASSANDRA_LOCAL_DC",
        "datacenter1",
        "the local datacenter for token-aware, DC-aware load balancing (Azure Cosmos DB: the region, "
        "e.g. `West Europe`); a name the cluster does not have stops start-up with the names it has",
    )
    keyspace: str = setting("CASSANDRA_KEYSPACE", "player_sessions", "keyspace to create and use")
    replication: str = setting(
        "CASSANDRA_REPLICATION",
        LOCAL_REPLICATION,
        "keyspace replication, as CQL; use `{'class': 'NetworkTopologyStrategy', 'dc1': 3}` on a real cluster",
    )
    read_consistency: Consistency = setting("CASSANDRA_READ_CONSISTENCY", "LOCAL_QUORUM", "consistency of reads")
    write_consistency: Consistency = setting(
        "CASSANDRA_WRITE_CONSISTENCY",
        "LOCAL_QUORUM",
        "consistency of writes; keep R + W > RF (read-your-writes across API processes)",
    )
    username: str | None = setting("CASSANDRA_USERNAME", None, "PasswordAuthenticator user")
    password: str | None = setting(
        "CASSANDRA_PASSWORD", None, "its password; a password without a user name is an error", as_given=True
    )
    tls_ca_file: str | None = setting(
        "CASSANDRA_TLS_CA_FILE", None, "CA / server certificate (PEM) to verify against; setting it turns TLS on"
    )
    tls_enabled: bool = setting(
        "CASSANDRA_TLS",
        False,
        "TLS to the native port; `true` without a CA file uses the system's CAs",
        shown="on if a CA file is set",
    )
    tls_verify: bool = setting(
        "CASSANDRA_TLS_VERIFY", True, "verify the server certificate and host name; `false` still encrypts"
    )
    protocol_version: int = setting(
        "CASSANDRA_PROTOCOL_VERSION",
        5,
        "native protocol version of cassandra-driver (`4` for Azure Cosmos DB or Cassandra 3.x); "
        "acsylla always speaks v4",
        ge=3,
        le=5,
    )
    connect_timeout_seconds: int = setting("CASSANDRA_CONNECT_TIMEOUT", 10, "seconds to connect", ge=1, le=600)
    request_timeout_seconds: int = setting(
        "CASSANDRA_REQUEST_TIMEOUT",
        10,
        "seconds Cassandra may take: per statement, and for all the statements of one HTTP request "
        "together (past it: 503 + Retry-After)",
        ge=1,
        le=600,
    )
    speculative_delay_ms: int = setting(
        "CASSANDRA_SPECULATIVE_DELAY_MS",
        0,
        "after this many ms without an answer a statement is also sent to the next replica (once); "
        "0 = off. Near the p99 latency on a cluster with RF ≥ 3, a stalled node costs this delay "
        "instead of a timeout",
        ge=0,
        le=60000,
    )
    retention_seconds: int = setting(
        "RETENTION_SECONDS",
        ONE_YEAR_SECONDS,
        "how long data is kept (Cassandra 5.0 in its default `storage_compatibility_mode: CASSANDRA_4` "
        "refuses expiry dates after 2038-01-19: such writes get `500` and a log line, not a retry-forever `503`)",
        ge=1,
        le=MAX_TTL_SECONDS,
        shown="`31536000` (365 days)",
    )
    retention_clock: RetentionClock = setting(
        "RETENTION_CLOCK",
        "event",
        "`event`: count retention from the event's `ts`; `ingestion`: from when it is written",
    )
    max_future_seconds: int = setting(
        "MAX_FUTURE_SECONDS", 24 * 3600, "how far in the future a `ts` may be", ge=0, le=MAX_TTL_SECONDS
    )
    start_shards: int = setting(
        "START_SHARDS",
        8,
        "partitions one minute of session starts is spread over, a power of two from 8; about one per "
        "1,000 starts/s at peak (docs/architecture.md). Safe to change while running: each minute records its count",
        ge=8,
        le=1024,
    )
    settle_interval_seconds: int = setting(
        "SETTLE_INTERVAL_SECONDS",
        2,
        "how often each server process recounts the per-country start buckets changed since its last pass "
        "(so queries find them counted); 0 turns the background task off",
        ge=0,
        le=3600,
    )
    host: str = setting("HOST", "127.0.0.1", "where `serve` listens")
    http_port: int = setting("PORT", 8000, "the HTTP port of `serve`", ge=1, le=65535)
    workers: int = setting(
        "WEB_CONCURRENCY", 1, "uvicorn worker processes (each has its own Cassandra session)", ge=1, le=256
    )
    header_timeout_seconds: int = setting(
        "HTTP_HEADER_TIMEOUT_SECONDS",
        10,
        "a connection whose request line and headers have not all arrived this many seconds after it "
        "opened (or after the first byte of its next request) is closed, with `408` if a request had "
        "begun (slowloris)",
        ge=1,
        le=3600,
    )
    max_connections_per_client: int = setting(
        "HTTP_MAX_CONNECTIONS_PER_CLIENT",
        100,
        "connections one client address may hold open to one process, websockets included; one more "
        "is answered `503` and closed at once. `0`: no cap (behind a proxy every client has the "
        "proxy's address: docs/operations.md)",
        ge=0,
        le=1_000_000,
    )
    max_body_bytes: int = setting(
        "MAX_BODY_BYTES", 64 * 1024, "request body limit (413 above)", ge=1024, le=64 * 1024 * 1024
    )
    graphiql: bool = setting("GRAPHIQL", True, "serve GraphiQL at `/graphql` to browsers (the Docker image: off)")
    graphql_introspection: bool = setting(
        "GRAPHQL_INTROSPECTION",
        True,
        "answer GraphQL introspection queries (the Docker image: off; `schema.graphql` documents the API)",
    )
    api_keys: tuple[str, ...] = setting(
        "API_KEYS",
        (),
        "comma-separated keys; when set, `POST /events` and `submitEvents` need one as "
        "`Authorization: Bearer <key>` or `X-API-Key: <key>` (else 401)",
        shown="*(none: ingest is open)*",
    )
    read_api_keys: tuple[str, ...] = setting(
        "READ_API_KEYS",
        (),
        "likewise for reads (`/sessions`, `/session-starts`, `/players/…`, GraphQL queries); an "
        "ingest key also reads. Set, the dashboard asks for a key",
        shown="*(none: reads are open)*",
    )
    metrics_token: str | None = setting(
        "METRICS_TOKEN", None, "when set, `/metrics` needs it as a bearer token", as_given=True
    )
    allowed_hosts: tuple[str, ...] = setting(
        "ALLOWED_HOSTS",
        (),
        "comma-separated Host names served (`*.example.com` for subdomains); others get 400",
        shown="*(none: any Host)*",
    )
    cors_allow_origins: tuple[str, ...] = setting(
        "CORS_ALLOW_ORIGINS",
        (),
        "comma-separated origins (`https://game.example.com`) whose web pages may call the API (CORS), "
        "or `*` for any; API keys go in headers, never cookies",
        shown="*(none: no CORS headers)*",
    )
    gzip_min_bytes: int = setting(
        "GZIP_MIN_BYTES",
        1024,
        "responses at least this large are gzip-compressed for clients that send `Accept-Encoding: gzip`; "
        "`0` turns response compression off",
        ge=0,
        le=64 * 1024 * 1024,
    )
    mask_errors: bool = setting("MASK_ERRORS", True, "hide unexpected internal GraphQL errors")
    subscription_poll_seconds: int = setting(
        "SUBSCRIPTION_POLL_SECONDS",
        2,
        "how often each process reads what its GraphQL subscriptions watch (one read per distinct "
        "subscription and interval, however many subscribers)",
        ge=1,
        le=3600,
    )
    subscription_max_feeds: int = setting(
        "SUBSCRIPTION_MAX_FEEDS",
        500,
        "distinct subscriptions (query and arguments) one process polls; one more is refused with "
        "`CAPACITY_REACHED` until one ends. With SUBSCRIPTION_POLL_SECONDS it bounds the reads polling "
        "costs (at most 8 in flight), however many subscribers",
        ge=1,
        le=1_000_000,
    )
    ws_max_connections: int = setting(
        "WS_MAX_CONNECTIONS",
        1000,
        "GraphQL websocket connections one process holds; more are refused (`503`)",
        ge=1,
        le=1_000_000,
    )
    ws_max_subscriptions: int = setting(
        "WS_MAX_SUBSCRIPTIONS",
        20,
        "operations one GraphQL websocket connection may run at once; more get an `error` message",
        ge=1,
        le=10_000,
    )
    ws_idle_seconds: int = setting(
        "WS_IDLE_SECONDS",
        300,
        "a GraphQL websocket connection without a subscription for this long is closed (code 4000); "
        "one that sends no `connection_init` is closed after at most 10 s (4408)",
        ge=1,
        le=86_400,
    )
    log_format: LogFormat = setting(
        "LOG_FORMAT", "text", "`text` or `json` (one JSON object per line); see Observability in docs/operations.md"
    )
    log_level: LogLevel = setting("LOG_LEVEL", "INFO", "`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`")
    # The name prometheus-client itself reads (ops/metrics.py). Set: it keeps values in files
    # there and /metrics sums every worker's.
    metrics_multiprocess_dir: Path | None = setting(
        "PROMETHEUS_MULTIPROC_DIR",
        None,
        "an existing, empty directory: `/metrics` then sums all `WEB_CONCURRENCY` workers",
    )
    # `consume`: the Kafka (or Azure Event Hubs) consumer, graphql_service/consume/.
    kafka_bootstrap_servers: tuple[str, ...] = setting(
        "KAFKA_BOOTSTRAP_SERVERS",
        ("127.0.0.1:9092",),
        "`consume`: comma-separated `host:port` of Kafka brokers (Azure Event Hubs: "
        "`NAMESPACE.servicebus.windows.net:9093`); the default is the local broker (`kafka start`)",
        shown="`127.0.0.1:9092`",
    )
    kafka_topics: tuple[str, ...] = setting(
        "KAFKA_TOPICS",
        ("player-events",),
        '`consume`: comma-separated topics to read; a record is one event or `{"rows": [...]}` as in `POST /events`',
        shown="`player-events`",
    )
    kafka_group_id: str = setting(
        "KAFKA_GROUP_ID",
        "player-session-service",
        "`consume`: the consumer group; processes of one group split the topics' partitions",
    )
    kafka_dead_letter_topic: str = setting(
        "KAFKA_DEAD_LETTER_TOPIC",
        "player-events-dead-letter",
        "`consume`: where records that cannot be stored go (not JSON, invalid events), the reason in the "
        "`dead-letter-reason` header",
    )
    kafka_security_protocol: KafkaSecurity = setting(
        "KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        "`consume`: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL` (Azure Event Hubs: `SASL_SSL`)",
    )
    kafka_sasl_mechanism: KafkaSasl = setting(
        "KAFKA_SASL_MECHANISM", "PLAIN", "`consume`: SASL mechanism (Azure Event Hubs: `PLAIN`)"
    )
    kafka_sasl_username: str | None = setting(
        "KAFKA_SASL_USERNAME", None, "`consume`: SASL user (Azure Event Hubs: `$ConnectionString`, literally)"
    )
    kafka_sasl_password: str | None = setting(
        "KAFKA_SASL_PASSWORD",
        None,
        "`consume`: its password (Azure Event Hubs: the namespace's connection string `Endpoint=sb://…`)",
        as_given=True,
    )
    kafka_ssl_ca_file: str | None = setting(
        "KAFKA_SSL_CA_FILE", None, "`consume`: CA certificate (PEM) for `SSL`/`SASL_SSL`; unset = the system's CAs"
    )
    kafka_batch_size: int = setting(
        "KAFKA_BATCH_SIZE",
        5000,
        "`consume`: records fetched and stored per round; their offsets are committed once all are stored",
        ge=1,
        le=100_000,
    )
    kafka_concurrency: int = setting(
        "KAFKA_CONCURRENCY",
        128,
        "`consume`: batches of a round written to Cassandra at once, per process (one-event records are "
        "submitted ten to a batch, as `POST /events` takes them)",
        ge=1,
        le=4096,
    )
    kafka_health_port: int = setting(
        "KAFKA_HEALTH_PORT",
        8001,
        "`consume`: port (on `HOST`) of the consumer's `/healthz`, `/readyz` and `/metrics`; 0 = none",
        ge=0,
        le=65535,
    )
    cql_dir: Path = setting(
        "CQL_DIR",
        meaning="where the migration files are",
        shown="the package's `store/cql/` (`cql/` in a checkout)",
        factory=_default_cql_dir,
    )

    @property
    def uses_local_node(self) -> bool:
        return not self.contact_points

    @property
    def cql_hosts(self) -> tuple[str, ...]:
        return self.contact_points or ("127.0.0.1",)

    @field_validator("keyspace")
    @classmethod
    def _cql_identifier(cls, value: str) -> str:
        if not value.replace("_", "a").isalnum() or not value[0].isalpha() or len(value) > 48 or not value.isascii():
            raise ValueError(f"must be a CQL identifier (letters, digits, _), got {value!r}")
        return value

    @field_validator("start_shards")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        # A loser's row is deleted at each power of two up to the minute's count (core/starts.py).
        if value & (value - 1):
            raise ValueError(f"must be a power of two (8, 16, 32, … 1024), got {value}")
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            # A browser's Origin header is exactly scheme://host[:port]; anything more would never match.
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(f"takes origins like https://game.example.com (no path, no /), got {origin!r}")
        return origins

    @field_validator("metrics_multiprocess_dir")
    @classmethod
    def _existing_directory(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"must be an existing directory, got {str(value)!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _tls_with_a_ca_file(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("CASSANDRA_TLS_CA_FILE") and "CASSANDRA_TLS" not in values:
            return {**values, "CASSANDRA_TLS": True}
        return values

    @model_validator(mode="after")
    def _password_needs_a_user(self) -> Settings:
        if self.password and not self.username:
            # Without a user name no credentials are sent at all; say so instead of ignoring it.
            raise ValueError("CASSANDRA_PASSWORD is set but CASSANDRA_USERNAME is not")
        if self.kafka_sasl_password and not self.kafka_sasl_username:
            raise ValueError("KAFKA_SASL_PASSWORD is set but KAFKA_SASL_USERNAME is not")
        if self.kafka_security_protocol.startswith("SASL_") and not self.kafka_sasl_password:
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD"
            )
        return self


def _rows(model: type[EnvSettings]) -> Iterator[str]:
    # A model built on another (the local broker's on the node's) lists only its own rows.
    base = next((b for b in model.__mro__[1:] if issubclass(b, EnvSettings)), EnvSettings)
    for env, field in model.variables().items():
        if env in base.variables():
            continue
        yield f"| `{env}` | {default_text(field)} | {model.readme_prefix}{field.description} |"


def markdown_table(*models: type[EnvSettings]) -> str:
    """The README's configuration table: the rows of each model in turn."""
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *(r for m in models for r in _rows(m))])
