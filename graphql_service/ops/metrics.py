"""Prometheus metrics: what they are, how requests are measured, and how `/metrics` is served.

Every metric is defined once, here, at import time, in prometheus-client's default registry:
a process has one set of counters however many apps it builds (the tests build many).
Nothing of ours is imported here: the composition root (app.py) subscribes `observe_ingest`
and `observe_statement` to the service's and the storage backend's observers, and the
HTTP middleware (api/middleware.py) counts requests.

With several uvicorn workers each process counts on its own. When `PROMETHEUS_MULTIPROC_DIR`
is set before the process starts, prometheus-client keeps every value in a file in that
directory instead, and `/metrics`, answered by whichever worker, adds up all of them.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.multiprocess import MultiProcessCollector

# One name prefix for everything this service exports.
PREFIX = "player_sessions"
# The route label of any request that matches no route, so scanners probing random paths
# cannot create a time series per path.
UNMATCHED = "unmatched"
# Likewise any method outside this set is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# `_created` series double the number of series and nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time from receiving an HTTP request to sending the last byte of its answer.",
    ["route", "method", "status"],
)
EVENTS = Counter(
    f"{PREFIX}_events_total",
    "Events by what happened to them: accepted (stored), rejected (in an invalid batch), expired "
    "(past retention, not stored). A re-delivered event is accepted again: storing it changes nothing.",
    ["outcome"],
)
STATEMENT_DURATION = Histogram(
    f"{PREFIX}_cassandra_statement_duration_seconds",
    "Time to run one prepared Cassandra statement, failures included, by statement name.",
    ["statement"],
    # A local quorum read or write takes about a millisecond: start finer than the default.
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
STATEMENT_ERRORS = Counter(
    f"{PREFIX}_cassandra_statement_errors_total",
    "Prepared Cassandra statements that failed, by statement name and driver exception class.",
    ["statement", "error"],
)

# The Kafka consumer (`consume`, graphql_service/consume/); served by its own /metrics.
KAFKA_RECORDS_CONSUMED = Counter(
    f"{PREFIX}_kafka_records_consumed_total", "Kafka records read by the consumer, by topic.", ["topic"]
)
KAFKA_RECORDS_STORED = Counter(
    f"{PREFIX}_kafka_records_stored_total",
    "Kafka records whose events were all stored (or expired), by topic.",
    ["topic"],
)
KAFKA_RECORDS_DEAD_LETTERED = Counter(
    f"{PREFIX}_kafka_records_dead_lettered_total",
    "Kafka records sent to the dead-letter topic, by topic and reason: not_json (not a JSON object "
    "or not UTF-8), invalid (refused by the same checks as POST /events), rejected (refused by Cassandra).",
    ["topic", "reason"],
)
KAFKA_STORAGE_RETRIES = Counter(
    f"{PREFIX}_kafka_storage_retries_total",
    "Records the consumer submits again after Cassandra was unavailable (it waits, with backoff, meanwhile).",
)
KAFKA_ROUND_DURATION = Histogram(
    f"{PREFIX}_kafka_batch_duration_seconds",
    "Time from fetching a round of records (KAFKA_BATCH_SIZE at most) to committing its offsets.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
KAFKA_ROUND_RECORDS = Histogram(
    f"{PREFIX}_kafka_batch_records",
    "Records in one round.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
KAFKA_LAG = Gauge(
    f"{PREFIX}_kafka_consumer_lag",
    "Records of a partition assigned to this process not yet committed (its end offset minus the committed one).",
    ["topic", "partition"],
)

_EVENT_OUTCOMES: frozenset[str] = frozenset({"accepted", "rejected", "expired"})

# Every outcome is exported from the start (at 0), so rate() and alerts work before the first event.
for _outcome in _EVENT_OUTCOMES:
    EVENTS.labels(_outcome)


def observe_ingest(outcome: str, count: int) -> None:
    """`SessionService.observers` hook."""
    if outcome in _EVENT_OUTCOMES:
        EVENTS.labels(outcome).inc(count)


# Labelled children by statement name: looking one up takes a lock and a tuple per call,
# which shows at ~10k statements/s. There are a few dozen statement names.
_statement_durations: dict[str, Histogram] = {}


def observe_statement(statement: str, seconds: float, error: BaseException | None) -> None:
    """Storage backend `observers` hook."""
    child = _statement_durations.get(statement)
    if child is None:
        child = _statement_durations[statement] = STATEMENT_DURATION.labels(statement)
    child.observe(seconds)
    if error is not None:
        STATEMENT_ERRORS.labels(statement, type(error).__name__).inc()


def registry(multiprocess_dir: Path | None) -> CollectorRegistry:
    """The registry `/metrics` reads: this process's, or every worker's files."""
    if multiprocess_dir is None:
        return REGISTRY
    combined = CollectorRegistry()
    MultiProcessCollector(combined, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
    return combined
