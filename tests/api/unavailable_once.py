"""A pass-through HTTP proxy in front of the real server that answers the first POST /events
`503` with `Retry-After: 1`, the way the service answers while Cassandra is unavailable, so the
client examples' retry is exercised without stopping the shared Cassandra node. Every other
request (and every later POST /events) goes to the real server unchanged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

# Hop-by-hop headers, and the ones httpx recomputes for the decoded body it hands back.
_NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "accept-encoding", "content-encoding"}


@dataclass
class Seen:
    """What the proxy saw of POST /events: one entry per request, its headers (lower case)."""

    posts: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def unavailable_once(target: str) -> Iterator[tuple[str, Seen]]:
    """Yields the proxy's base URL and what it saw."""
    seen = Seen()
    client = httpx.Client(base_url=target, timeout=30)

    class Proxy(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
            if self.headers.get("Content-Encoding"):
                headers["Content-Encoding"] = self.headers["Content-Encoding"]
            if self.command == "POST" and self.path.startswith("/events"):
                with seen.lock:
                    seen.posts.append({k.lower(): v for k, v in self.headers.items()})
                    first = len(seen.posts) == 1
                if first:
                    self._unavailable()
                    return
            answer = client.request(self.command, self.path, headers=headers, content=body)
            self.send_response(answer.status_code)
            for name, value in answer.headers.multi_items():
                if name.lower() not in _NOT_FORWARDED:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def _unavailable(self) -> None:
            payload = b'{"error": "storage temporarily unavailable; the request is safe to retry"}'
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "1")
            origin = self.headers.get("Origin")
            if origin:  # as the service's CORS layer would, or the page could not read the 503
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Access-Control-Expose-Headers", "Retry-After, X-Request-Id")
                self.send_header("Vary", "Origin")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_OPTIONS = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        client.close()
