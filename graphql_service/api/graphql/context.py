"""What every GraphQL resolver and extension sees: the service, fresh loaders, and who asks.

Built per HTTP request, and once per websocket connection (its loaders then only batch)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.service import SessionService
from ..auth import HOW_OVER_HTTP, Keys
from .loaders import Loaders


@dataclass
class Context:
    service: SessionService
    loaders: Loaders
    # The server's keys and the one the caller presented: the HTTP request's headers, or a
    # websocket's upgrade headers, else its connection_init payload (filled in on connect).
    keys: Keys = field(default_factory=Keys)
    key: str | None = None
    # How a caller refused for want of a key should present one.
    how: str = HOW_OVER_HTTP
    # Websockets only: what connection_init carried (Strawberry fills it in).
    connection_params: dict[str, object] = field(default_factory=dict)
