"""`python -m graphql_service import FILE`: load a JSON Lines file of events.

One event per line, the format of the original assignment data set (`.gz` and `.bz2`
are read directly, recognised by their first bytes). Every event goes through
`SessionService.submit_events`, the function behind REST and GraphQL, so a file is held
to exactly the rules of the APIs; the importer only adds batching, bounded concurrency,
retries and bookkeeping. It talks to Cassandra directly, not over HTTP.

Before it exits it settles the per-country start buckets it touched (core/settling.py), so
the first `/session-starts` query after a backfill of late starts finds them counted.

Nothing is silently lost: every line ends up accepted, expired (past retention, counted
and not stored, as the APIs do) or rejected, and each rejected line is written to the
reject file with its line number and the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import bz2
import gzip
import io
import json
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar, get_args

from ..core.service import SessionService
from ..core.settling import settle_after_writes
from ..domain.errors import InvalidInput, StorageUnavailable, ToolError
from ..domain.events import MAX_BATCH_EVENTS, SubmitResult, utc_now
from ..settings import RetentionClock, Settings
from ..store.backends import Backend
from .argtypes import batch_size, positive_int
from .preflight import ready_service
from .progress import Progress

T = TypeVar("T")

DEFAULT_CONCURRENCY = 32
DEFAULT_ATTEMPTS = 6
GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"


class ImportFailed(ToolError):
    """The import cannot go on (no schema, storage down after every retry)."""


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    event: object = None
    # Why the line cannot even be submitted (not UTF-8, not JSON); None when it can.
    error: str | None = None


@dataclass(frozen=True)
class Batch:
    lines: list[Line]
    # The file's line number of the batch's last line (blank lines included).
    last_line: int


@dataclass
class ImportSummary:
    file: str
    lines: int = 0
    blank: int = 0
    accepted: int = 0
    expired: int = 0
    rejected: int = 0
    retries: int = 0
    # Per-country start buckets recounted before exiting (minutes, hours, days).
    settled_buckets: int = 0
    # Part of `elapsed_seconds`: waiting for the last writes to be quiet, then recounting.
    settle_seconds: float = 0.0
    elapsed_seconds: float = 0.0
    rejects_file: str | None = None
    retention_clock: RetentionClock = "event"
    stopped: str | None = None

    @property
    def events_per_second(self) -> float:
        """Accepted events per second of wall-clock time."""
        return self.accepted / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        summary = {**asdict(self), "events_per_second": round(self.events_per_second, 1)}
        summary["elapsed_seconds"] = round(self.elapsed_seconds, 3)
        summary["settle_seconds"] = round(self.settle_seconds, 3)
        return summary


@dataclass(frozen=True)
class ImportOptions:
    batch_size: int = MAX_BATCH_EVENTS
    concurrency: int = DEFAULT_CONCURRENCY
    attempts: int = DEFAULT_ATTEMPTS
    backoff_seconds: float = 0.2
    rejects: Path | None = None
    # Recount the touched start buckets before returning (waits until the last writes are
    # a few seconds old: core/settling.py).
    settle: bool = True


def default_rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.jsonl")


def open_events(path: Path, stack: ExitStack) -> io.BufferedIOBase:
    """The file's (decompressed) bytes."""
    raw = stack.enter_context(open(path, "rb"))
    head = raw.read(3)
    raw.seek(0)
    stream: io.BufferedIOBase = raw
    if head.startswith(GZIP_MAGIC):
        stream = gzip.GzipFile(fileobj=raw, mode="rb")
    elif head.startswith(BZIP2_MAGIC):
        stream = bz2.BZ2File(raw, mode="rb")
    stack.callback(stream.close)
    return stream


def count_lines(path: Path) -> int:
    """Lines in the file, for an exact progress bar and ETA. Reading a file (even
    decompressing it) is a small fraction of the time importing it takes, and the
    compressed position would move in whole bzip2 blocks of ~900 kB."""
    lines, last = 0, b"\n"
    with ExitStack() as stack:
        stream = open_events(path, stack)
        while chunk := stream.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def parse_line(number: int, data: bytes) -> Line | None:
    """One line of the file; None for a blank line (it holds nothing to lose)."""
    data = data.rstrip(b"\r\n")
    if number == 1 and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte order mark, as some editors write
    if not data.strip():
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Line(number, data.decode("utf-8", "replace"), error=f"not UTF-8 text: {exc.reason} at byte {exc.start}")
    try:
        return Line(number, text, event=json.loads(text))
    except json.JSONDecodeError as exc:
        return Line(number, text, error=f"not valid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return Line(number, text, error="not valid JSON: nested too deeply")


def _reasons_by_index(exc: InvalidInput, size: int) -> dict[int, str]:
    reasons: dict[int, list[str]] = {}
    for problem in exc.problems:
        if problem.index is not None and 0 <= problem.index < size:
            reasons.setdefault(problem.index, []).append(f"{problem.field} {problem.message}")
    return {index: "; ".join(parts) for index, parts in reasons.items()}


async def retry(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    backoff_seconds: float,
    on_retry: Callable[[int, StorageUnavailable], None] = lambda attempt, exc: None,
) -> T:
    """`call()`, again after StorageUnavailable with exponential backoff and jitter.

    Safe for event batches because every write of the ingest path is idempotent.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except StorageUnavailable as exc:
            if attempt >= attempts:
                raise
            on_retry(attempt, exc)
            delay = min(5.0, backoff_seconds * 2 ** (attempt - 1))
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not security
    raise AssertionError("unreachable")  # attempts >= 1


@dataclass
class Importer:
    service: SessionService
    options: ImportOptions = field(default_factory=ImportOptions)

    async def run(self, path: Path, *, progress: bool = False) -> ImportSummary:
        rejects_path = self.options.rejects or default_rejects_path(path)
        summary = ImportSummary(
            file=str(path), rejects_file=str(rejects_path), retention_clock=self.service.settings.retention_clock
        )
        started = time.monotonic()
        began = utc_now()
        total = count_lines(path) if progress else None
        with ExitStack() as stack:
            stream = open_events(path, stack)
            rejects = stack.enter_context(open(rejects_path, "w", encoding="utf-8"))
            run = _Run(self, summary, rejects, started)
            with Progress(f"import {path.name}", total, enabled=progress) as bar:
                run.bar = bar
                try:
                    await run.all_batches(self._batches(stream, summary))
                except* StorageUnavailable as group:
                    summary.stopped = (
                        f"Cassandra unavailable after {self.options.attempts} attempts ({group.exceptions[0]}); "
                        "re-running the import is safe: every write is idempotent"
                    )
                run.show_progress()
        if self.options.settle and not summary.stopped:
            settling = time.monotonic()
            summary.settled_buckets = await settle_after_writes(self.service.starts, began)
            summary.settle_seconds = time.monotonic() - settling
        summary.elapsed_seconds = time.monotonic() - started
        if summary.rejected == 0:
            rejects_path.unlink(missing_ok=True)
            summary.rejects_file = None
        return summary

    def _batches(self, stream: io.BufferedIOBase, summary: ImportSummary) -> Iterator[Batch]:
        lines: list[Line] = []
        last_yielded = 0
        try:
            for number, data in enumerate(stream, start=1):
                summary.lines += 1
                line = parse_line(number, data)
                if line is None:
                    summary.blank += 1
                    continue
                lines.append(line)
                if len(lines) == self.options.batch_size:
                    yield Batch(lines, number)
                    lines, last_yielded = [], number
        except (OSError, EOFError, zlib.error) as exc:
            # A truncated or corrupt .gz/.bz2: import what was read, say where it broke.
            summary.stopped = f"cannot read the file after line {summary.lines:,}: {exc}"
        if summary.lines > last_yielded:  # the rest, or only trailing blank lines
            yield Batch(lines, summary.lines)

    async def submit(self, events: list[object], summary: ImportSummary) -> SubmitResult:
        """One batch through the service, retried while Cassandra is unavailable."""

        def count_retry(attempt: int, exc: StorageUnavailable) -> None:
            summary.retries += 1

        return await retry(
            lambda: self.service.submit_events(events),
            attempts=self.options.attempts,
            backoff_seconds=self.options.backoff_seconds,
            on_retry=count_retry,
        )


@dataclass
class _Run:
    importer: Importer
    summary: ImportSummary
    rejects: IO[str]
    started: float
    bar: Progress | None = None
    done_lines: int = 0

    async def all_batches(self, batches: Iterator[Batch]) -> None:
        concurrency = self.importer.options.concurrency
        queue: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=concurrency)

        async def produce() -> None:
            # Reading is quick and buffered, so it stays on the loop; the bounded queue
            # keeps at most `concurrency` batches read ahead of the workers.
            for batch in batches:
                await queue.put(batch)
            for _ in range(concurrency):
                await queue.put(None)

        async def work() -> None:
            while (batch := await queue.get()) is not None:
                await self.batch(batch.lines)
                # Batches finish roughly in file order; the last line of the latest one
                # finished is a fair measure of how far the import is.
                self.done_lines = max(self.done_lines, batch.last_line)
                self.show_progress()

        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            for _ in range(concurrency):
                group.create_task(work())

    def show_progress(self) -> None:
        if self.bar is None:
            return
        s = self.summary
        rate = s.accepted / max(1e-9, time.monotonic() - self.started)
        self.bar.update(
            self.done_lines,
            f"{self.done_lines:,} lines  {rate:,.0f} events/s  {s.expired:,} expired  {s.rejected:,} rejected",
        )

    async def batch(self, lines: list[Line]) -> None:
        for line in lines:
            if line.error is not None:
                self.reject(line, line.error)
        await self.submit([line for line in lines if line.error is None])

    async def submit(self, lines: list[Line]) -> None:
        if not lines:
            return
        try:
            result = await self.importer.submit([line.event for line in lines], self.summary)
        except InvalidInput as exc:
            # The validator names each bad event; reject exactly those and send the rest
            # again as one batch (it validated apart from them, so it goes through).
            reasons = _reasons_by_index(exc, len(lines))
            if not reasons and len(lines) == 1:
                self.reject(lines[0], exc.message)
            elif not reasons:
                for line in lines:  # nothing says which: find out one by one
                    await self.submit([line])
            else:
                for index, reason in reasons.items():
                    self.reject(lines[index], reason)
                await self.submit([line for index, line in enumerate(lines) if index not in reasons])
            return
        self.summary.accepted += result.accepted
        self.summary.expired += result.expired

    def reject(self, line: Line, reason: str) -> None:
        self.summary.rejected += 1
        record = {"line": line.number, "reason": reason, "text": line.text}
        self.rejects.write(json.dumps(record, ensure_ascii=False) + "\n")


async def import_file(
    path: Path, settings: Settings, options: ImportOptions, *, database: Backend, progress: bool = False
) -> ImportSummary:
    try:
        service = await SessionService.create(database, settings)
    except Exception as exc:
        raise ImportFailed(
            f"cannot prepare statements in keyspace {settings.keyspace!r} "
            f"(has `python -m graphql_service migrate` run?): {exc}"
        ) from exc
    return await Importer(service, options).run(path, progress=progress)


async def _connect_and_import(
    path: Path, settings: Settings, options: ImportOptions, *, progress: bool, debug: bool
) -> ImportSummary:
    async with ready_service(settings, debug=debug) as service:
        return await Importer(service, options).run(path, progress=progress)


def format_summary(summary: ImportSummary) -> str:
    def row(name: str, value: int | str, note: str = "") -> str:
        shown = f"{value:,}" if isinstance(value, int) else value
        return f"  {name:<12}{shown:>12}  {note}".rstrip()

    lines = [f"{'stopped' if summary.stopped else 'imported'} {summary.file} in {summary.elapsed_seconds:.1f} s"]
    lines.append(row("lines read", summary.lines, f"({summary.blank:,} blank)" if summary.blank else ""))
    lines.append(row("accepted", summary.accepted))
    lines.append(row("expired", summary.expired, f"past retention (counted from {summary.retention_clock} time)"))
    lines.append(row("rejected", summary.rejected, f"see {summary.rejects_file}" if summary.rejects_file else ""))
    if summary.settled_buckets:
        note = f"per-country start buckets recounted in {summary.settle_seconds:.1f} s, ready to query"
        lines.append(row("settled", summary.settled_buckets, note))
    if summary.retries:
        lines.append(row("retries", summary.retries, "batches re-sent after Cassandra was unavailable"))
    lines.append(row("events/s", f"{summary.events_per_second:,.0f}", "accepted events per second"))
    if summary.stopped:
        lines.append(f"stopped: {summary.stopped}")
    elif summary.expired and not summary.accepted and summary.retention_clock == "event":
        lines.append("every event was past retention; --retention-from ingestion replays a historic data set")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    clock = Settings.model_fields["retention_clock"]
    parser.add_argument("file", type=Path, help="JSON Lines, one event per line; .gz and .bz2 are read directly")
    parser.add_argument(
        "--retention-from",
        choices=get_args(RetentionClock),
        help=f"count retention from the event's ts (event) or from now (ingestion), to replay old data "
        f"(overrides {clock.validation_alias}; default {clock.default})",
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help="batches in flight (default %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=batch_size,
        default=MAX_BATCH_EVENTS,
        metavar="N",
        help=f"events per batch, 1 to {MAX_BATCH_EVENTS} (default %(default)s)",
    )
    parser.add_argument(
        "--attempts",
        type=positive_int,
        default=DEFAULT_ATTEMPTS,
        metavar="N",
        help="tries per batch while Cassandra is unavailable (default %(default)s)",
    )
    parser.add_argument("--rejects", type=Path, metavar="FILE", help="reject file (default: FILE.rejects.jsonl)")
    parser.add_argument(
        "--no-settle",
        action="store_true",
        help="exit without recounting the touched per-country start buckets (the first query then does it)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar / progress lines on stderr")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def main(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    if not path.is_file():
        raise ImportFailed(f"no such file: {path}")
    if args.retention_from:
        settings = settings.with_overrides(retention_clock=args.retention_from)
    options = ImportOptions(
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        attempts=args.attempts,
        rejects=args.rejects,
        settle=not args.no_settle,
    )
    summary = asyncio.run(_connect_and_import(path, settings, options, progress=not args.no_progress, debug=args.debug))
    print(json.dumps(summary.as_dict()) if args.json else format_summary(summary), flush=True)
    return 1 if summary.stopped else 0
