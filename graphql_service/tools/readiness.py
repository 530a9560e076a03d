"""Is a started server ready? `/readyz` asked until it answers 200, and the server stopped
the way Ctrl-C stops it: the one helper the tests, the benchmarks (bench/) and `loadgen`
share. Standard library only, so it costs a test or a benchmark no HTTP client.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def free_port() -> int:
    """A TCP port nothing on 127.0.0.1 listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def readyz(base_url: str, timeout: float = 2.0) -> tuple[int, str]:
    """`GET {base_url}/readyz`: (status, body). OSError when nothing answers."""
    parts = urlsplit(base_url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        connection.request("GET", f"{parts.path.rstrip('/')}/readyz")
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    except http.client.HTTPException as exc:  # a peer that is not (yet) an HTTP server
        raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()


def _tail(log_path: Path | None, lines: int = 40) -> str:
    if log_path is None or not log_path.exists():
        return ""
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_ready(
    process: subprocess.Popen[bytes], base_url: str, log_path: Path | None = None, *, timeout: float = 60
) -> dict[str, Any]:
    """Wait until the started server answers /readyz with 200 and return that JSON body;
    RuntimeError with the end of its log when it exits or is not ready in `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            status, body = readyz(base_url, timeout=2)
            if status == 200:
                ready: dict[str, Any] = json.loads(body)
                return ready
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base_url}/readyz did not answer 200 within {timeout:.0f} s:\n{_tail(log_path)}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGINT (what Ctrl-C sends: a graceful shutdown), then SIGKILL after `timeout` s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running(
    process: subprocess.Popen[bytes], base_url: str, log_path: Path | None = None, *, timeout: float = 60
) -> Iterator[dict[str, Any]]:
    """Yield /readyz's body once the started server is ready; stop it at the end, also
    when it never got ready."""
    try:
        yield wait_ready(process, base_url, log_path, timeout=timeout)
    finally:
        stop(process)
