"""JSON from clients, parsed with a depth limit: request bodies (REST and GraphQL), GraphQL's
`variables` in a query string, and every websocket message.

The standard parser recurses: `[` x 100,000 raises RecursionError, which nothing expects (a
websocket connection was dropped without a close code). Shallower nesting that parses still
reaches code that recurses over it. Nothing the API takes is deeper than a few levels."""

from __future__ import annotations

import json
from typing import Any

# {"query": …, "variables": {"events": [{…}]}} is 4 deep.
MAX_JSON_DEPTH = 32


class JsonTooDeep(json.JSONDecodeError):
    """A JSONDecodeError, so every caller that refuses invalid JSON refuses this too."""

    def __init__(self, document: str) -> None:
        super().__init__(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", document, 0)


def loads(data: str | bytes | bytearray) -> Any:
    """`json.loads(data)`, refusing documents nested deeper than MAX_JSON_DEPTH."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise JsonTooDeep(_excerpt(data)) from None
    # Iterative: the walk itself must not recurse. It visits only arrays and objects.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > MAX_JSON_DEPTH:
            raise JsonTooDeep(_excerpt(data))
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


def _excerpt(data: str | bytes | bytearray) -> str:
    text = data if isinstance(data, str) else bytes(data[:40]).decode("utf-8", "replace")
    return text[:40]
