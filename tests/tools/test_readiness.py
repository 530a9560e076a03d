"""The readiness helper the tests, the benchmarks and loadgen share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graphql_service.tools import progress, readiness


def test_nothing_listening_is_an_os_error() -> None:
    with pytest.raises(OSError):
        readiness.readyz(f"http://127.0.0.1:{readiness.free_port()}", timeout=1)


def test_a_server_that_exits_before_it_is_ready_fails_with_its_log(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    log_path.write_text("error: keyspace 'x' is missing migrations\n")
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(2)"])
    process.wait()

    with pytest.raises(RuntimeError, match="exited with 2:\nerror: keyspace 'x' is missing migrations"):
        readiness.wait_ready(process, f"http://127.0.0.1:{readiness.free_port()}", log_path)


def test_progress_without_rich_is_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    # rich is the `tools` extra: `import` in the image has none, and must still report.
    monkeypatch.setitem(sys.modules, "rich.console", None)

    assert progress._live_bar(sys.stderr) is None
