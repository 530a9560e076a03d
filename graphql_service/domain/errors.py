"""Every error the service and its command-line tools raise on purpose, in one tree.

    ServiceError            one line for the caller or the operator; never a traceback
    ├── ConfigError         a setting has a value the service cannot use (names the variable)
    ├── ConnectError        Cassandra cannot be reached or refuses us (unreachable, credentials,
    │                       TLS, protocol version, unknown local datacenter)
    ├── InvalidInput        the caller sent something we will not store       → 400
    │   ├── InvalidArgument one argument (player id, limit, hours, sent_at), by identity:
    │   │                   each API names it its own way (domain/arguments.py)
    │   └── PayloadTooLarge the body is over MAX_BODY_BYTES                    → 413
    ├── StorageUnavailable  Cassandra failed or timed out; safe to retry       → 503 + Retry-After
    ├── CapacityReached     a bound of this process is reached (distinct live subscriptions);
    │                       retry later                                        → 503 + Retry-After
    ├── StorageRejected     Cassandra refused a statement as invalid           → 500, logged
    └── ToolError           a command-line tool failed (dev node, import, loadgen)

The HTTP mapping lives in api/errors.py, the GraphQL one in api/graphql/errors.py, and the
CLI prints `error: <message>` for any ServiceError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ServiceError(Exception):
    pass


class ConfigError(ServiceError, ValueError):
    """A setting has a value the service cannot use; the message names the variable."""


class ConnectError(ServiceError):
    """Cassandra cannot be used; the message is one line saying why and which setting to check."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input; `index` is the event's position in the batch."""

    field: str
    message: str
    index: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"field": self.field, "message": self.message}
        if self.index is not None:
            out = {"index": self.index, **out}
        return out


class InvalidInput(ServiceError):
    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: list[Problem] = list(problems)


class PayloadTooLarge(InvalidInput):
    pass


class StorageUnavailable(ServiceError):
    """Cassandra failed or timed out. Every write is idempotent, so the caller may retry."""

    # What callers are told, on REST and GraphQL alike.
    public_message = "storage temporarily unavailable; the request is safe to retry"


class CapacityReached(ServiceError):
    """A bound that keeps one process's work finite is reached; retrying later may succeed."""


class StorageRejected(ServiceError):
    """Cassandra refused a statement as invalid (a schema or configuration problem on our
    side, e.g. a TTL past the cluster's maximum expiry date): retrying will not help."""

    public_message = "Cassandra rejected a statement; see the server log"


class ToolError(ServiceError):
    """A command-line tool could not do its job; the message says why."""
