"""Start the real server process (the Dockerfile's CMD) for tests that need one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette

from graphql_service.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def served(settings: Settings, log_path: Path, **env: str) -> Iterator[str]:
    """`python -m graphql_service serve` against the test keyspace on a free port, with
    extra environment; yields its base URL once /readyz answers, and stops it with SIGINT
    (Ctrl-C) at the end. The server's output goes to `log_path`."""
    port = free_port()
    full_env = {
        **os.environ,
        "CASSANDRA_DRIVER": settings.driver,
        "CASSANDRA_KEYSPACE": settings.keyspace,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **env,
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "graphql_service", "serve"], env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    with stopped_at_exit(process, f"http://127.0.0.1:{port}", log_path) as base_url:
        yield base_url


@contextmanager
def stopped_at_exit(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> Iterator[str]:
    """Wait until the started server answers /readyz with 200 (or fail with its log), yield,
    then stop it with SIGINT (Ctrl-C), killing it if it does not stop within 20 s."""
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and talk HTTP to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
            yield client
