"""Progress for the long-running commands (`import`, `loadgen`), on stderr.

On a terminal it is a live bar with elapsed time and ETA (rich, from the `tools` extra).
Anywhere else (CI logs, `2> file`) a live bar would be carriage returns and escape codes, so
it is a plain line every `interval` seconds plus a final one: readable, greppable, and short.
So it is without rich (an install without the extra, such as the image).
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """`update(completed, status)` as often as you like; it draws at most a few times a second."""

    def __init__(
        self,
        label: str,
        total: float | None,
        *,
        stream: TextIO | None = None,
        interval: float = 10.0,
        enabled: bool = True,
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.interval = interval
        self.enabled = enabled
        self.completed = 0.0
        self.status = ""
        self._started = time.monotonic()
        self._last_line = self._started
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Progress:
        self._started = self._last_line = time.monotonic()
        if self.enabled and self.stream.isatty():
            self._bar = _live_bar(self.stream)
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, status="")
        return self

    def update(self, completed: float, status: str = "") -> None:
        self.completed = completed
        self.status = status
        if not self.enabled:
            return
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=completed, status=status)
            return
        now = time.monotonic()
        if now - self._last_line >= self.interval:
            self._last_line = now
            self._write_line(now)

    def _write_line(self, now: float) -> None:
        elapsed = now - self._started
        parts = [self.label]
        if self.total:
            share = min(1.0, self.completed / self.total)
            parts.append(f"{share:6.1%}")
        parts.append(f"elapsed {clock(elapsed)}")
        if self.total and 0 < self.completed < self.total:
            parts.append(f"ETA {clock(elapsed * (self.total - self.completed) / self.completed)}")
        if self.status:
            parts.append(self.status)
        print("  ".join(parts), file=self.stream, flush=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled:
            self._write_line(time.monotonic())


def _live_bar(stream: TextIO) -> RichProgress | None:
    """rich's live bar on `stream`, or None without rich (the plain lines then)."""
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress
    except ModuleNotFoundError:
        return None
    return RichProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=Console(file=stream),
        # Log lines written meanwhile are printed above the bar, not through it.
        redirect_stderr=True,
    )
