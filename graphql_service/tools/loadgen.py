"""`python -m graphql_service loadgen`: drive a running service over HTTP, or write a data set.

Synthetic players play sessions; their start and end events go to `POST /events` in
batches of 1 to `max_batch`, with a share of sessions whose end arrives before their
start and a share of events sent twice (both are normal for game clients). Optionally a
share of requests read sessions back over REST or GraphQL. It runs either a fixed number
of concurrent clients (closed loop) or a target request rate (open loop; latency is then
counted from the scheduled send time, so a server that falls behind shows in the
percentiles instead of slowing the generator down).

The final report gives events/s, requests/s, errors by status and latency p50/p95/p99
per endpoint, as a table or as one JSON object (`--json`) for benchmarks to record.

`--write-jsonl FILE --events N` writes the same kind of traffic as a JSON Lines file in
the original data set's format instead, for `import`.
"""

from __future__ import annotations

import argparse
import asyncio
import bz2
import gzip
import heapq
import json
import logging
import math
import os
import platform
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
from rich.console import Console
from rich.table import Table

from ..domain.errors import ToolError
from ..domain.events import MAX_BATCH_EVENTS
from . import readiness
from .argtypes import batch_size, positive_float, positive_int, share
from .progress import Progress

Event = dict[str, object]

GRAPHQL_SESSIONS = "query Sessions($id: ID!) { player(id: $id) { sessions(last: 20) { sessionId durationSeconds } } }"
ENDPOINTS = ("POST /events", "GET /sessions", "POST /graphql")
COUNTRIES = ("FI", "SE", "NO", "DK", "DE", "FR", "ES", "IT", "GB", "US", "CA", "BR", "JP", "KR", "IN", "AU")


class LoadgenError(ToolError):
    """The load cannot run (no service at the URL, bad options); the message says why."""


def iso(ts: datetime) -> str:
    """The original data set's format: seconds, no offset (meaning UTC)."""
    return ts.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


@dataclass
class StreamCounts:
    events: int = 0
    sessions: int = 0
    ends_first: int = 0
    duplicates: int = 0
    lone_starts: int = 0


class SyntheticEvents:
    """An endless (or `limit`-long) stream of start/end events of many players' sessions.

    The second half of each session, and every re-sent duplicate, is emitted 1 to `spread`
    events later, so halves usually travel in different batches (often concurrently).
    Timestamps are always valid (end after start, never in the future): only the order
    of arrival is shuffled, as in real traffic.
    """

    def __init__(
        self,
        *,
        players: int,
        session_start: Callable[[random.Random], datetime],
        out_of_order: float = 0.0,
        duplicates: float = 0.0,
        spread: int = 50,
        rng: random.Random | None = None,
        limit: int | None = None,
    ) -> None:
        self.players = [f"player-{i:06d}" for i in range(players)]
        self.session_start = session_start
        self.out_of_order = out_of_order
        self.duplicates = duplicates
        self.spread = spread
        self.rng = rng or random.Random()  # noqa: S311 - synthetic data, not security
        self.limit = limit
        self.counts = StreamCounts()
        # (due index, tie-breaker, event): halves and copies waiting for their turn.
        self._pending: list[tuple[int, int, Event]] = []
        self._sequence = 0

    def _schedule(self, event: Event) -> None:
        self._sequence += 1
        due = self.counts.events + self.rng.randint(1, self.spread)
        heapq.heappush(self._pending, (due, self._sequence, event))

    def _session(self) -> tuple[Event, Event]:
        player = self.rng.choice(self.players)
        session = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        started = self.session_start(self.rng)
        ended = started + timedelta(seconds=self.rng.randint(60, 3600))
        start: Event = {
            "event": "start",
            "player_id": player,
            "session_id": session,
            "ts": iso(started),
            "country": self.rng.choice(COUNTRIES),
        }
        end: Event = {"event": "end", "player_id": player, "session_id": session, "ts": iso(ended)}
        return start, end

    def done(self) -> bool:
        return self.limit is not None and self.counts.events >= self.limit

    def next_event(self) -> Event:
        if self.done():
            raise LoadgenError(f"the stream ends after {self.limit:,} events")
        # How many events may still be newly made beyond those already waiting.
        room = math.inf if self.limit is None else self.limit - self.counts.events - len(self._pending)
        if self._pending and (self._pending[0][0] <= self.counts.events or room < 2):
            event = heapq.heappop(self._pending)[2]
        elif room < 2:
            event = self._session()[0]  # one slot left: a session that never ends
            self.counts.lone_starts += 1
            room -= 1
        else:
            first, second = self._session()
            self.counts.sessions += 1
            if self.rng.random() < self.out_of_order:
                first, second = second, first
                self.counts.ends_first += 1
            event = first
            self._schedule(second)
            room -= 2
        self.counts.events += 1
        if room >= 1 and self.rng.random() < self.duplicates:
            self._schedule(dict(event))
            self.counts.duplicates += 1
        return event

    def batch(self, size: int) -> list[Event]:
        return [self.next_event() for _ in range(size)]

    def __iter__(self) -> Iterator[Event]:
        while not self.done():
            yield self.next_event()


def recent_start(rng: random.Random) -> datetime:
    """Sessions that began 65 to 180 minutes ago, so that even a one-hour one has ended."""
    return datetime.now(UTC) - timedelta(seconds=rng.randint(65 * 60, 180 * 60))


def starts_between(first: datetime, days: float) -> Callable[[random.Random], datetime]:
    def start(rng: random.Random) -> datetime:
        return first + timedelta(seconds=rng.uniform(0, days * 86400))

    return start


# ---------------------------------------------------------------------------------------
# Writing a data set


@dataclass
class WrittenFile:
    path: str
    lines: int
    invalid: int
    counts: StreamCounts


def _corrupt(event: Event, rng: random.Random) -> str:
    """One line `import` must reject, of a kind seen in real data."""
    kind = rng.randrange(3)
    if kind == 0:
        return json.dumps(event)[:-7]  # cut short: not JSON
    if kind == 1:
        return json.dumps({**event, "event": "start", "country": "Finland"})
    return json.dumps({key: value for key, value in event.items() if key != "player_id"})


def write_jsonl(path: Path, stream: SyntheticEvents, *, invalid: float = 0.0) -> WrittenFile:
    """Write the stream to `path` (gzip or bzip2 when the name ends .gz / .bz2)."""
    invalid_lines = 0
    with ExitStack() as stack:
        out: IO[str]
        if path.suffix == ".gz":
            out = stack.enter_context(gzip.open(path, "wt", encoding="utf-8"))
        elif path.suffix == ".bz2":
            out = stack.enter_context(bz2.open(path, "wt", encoding="utf-8"))
        else:
            out = stack.enter_context(open(path, "w", encoding="utf-8"))
        for event in stream:
            if invalid and stream.rng.random() < invalid:
                out.write(_corrupt(event, stream.rng) + "\n")
                invalid_lines += 1
            else:
                out.write(json.dumps(event) + "\n")
    return WrittenFile(str(path), stream.counts.events, invalid_lines, stream.counts)


# ---------------------------------------------------------------------------------------
# Driving a service


@dataclass(frozen=True)
class LoadOptions:
    url: str = "http://127.0.0.1:8000"
    players: int = 1000
    duration_seconds: float = 10.0
    concurrency: int = 8
    # Requests per second (open loop); None = `concurrency` clients back to back.
    rate: float | None = None
    max_in_flight: int = 256
    max_batch: int = MAX_BATCH_EVENTS
    out_of_order: float = 0.1
    duplicates: float = 0.05
    rest_reads: float = 0.0
    graphql_reads: float = 0.0
    timeout_seconds: float = 10.0
    seed: int | None = None


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of an ascending list (`share` in 0..1)."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


@dataclass
class EndpointStats:
    requests: int = 0
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def summary(self, elapsed: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 1)

        return {
            "requests": self.requests,
            "ok": self.ok,
            "errors": dict(self.errors),
            "requests_per_second": round(self.requests / elapsed, 1) if elapsed else 0.0,
            "p50_ms": ms(percentile(ordered, 0.50)),
            "p95_ms": ms(percentile(ordered, 0.95)),
            "p99_ms": ms(percentile(ordered, 0.99)),
            "max_ms": ms(ordered[-1] if ordered else None),
        }


@dataclass
class LoadReport:
    options: LoadOptions
    started_at: str
    elapsed_seconds: float = 0.0
    events_sent: int = 0
    events_accepted: int = 0
    # Open loop only: sends skipped because `max_in_flight` requests were still open.
    skipped: int = 0
    # The first answer of each kind of error, to tell what went wrong without a rerun.
    error_samples: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, EndpointStats] = field(default_factory=lambda: {name: EndpointStats() for name in ENDPOINTS})

    @property
    def requests(self) -> int:
        return sum(stats.requests for stats in self.endpoints.values())

    @property
    def ok(self) -> int:
        return sum(stats.ok for stats in self.endpoints.values())

    @property
    def errors(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for stats in self.endpoints.values():
            total.update(stats.errors)
        return total

    def rate(self, count: int) -> float:
        return count / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "mode": "rate" if self.options.rate else "concurrency",
            "options": asdict(self.options),
            "requests": self.requests,
            "ok": self.ok,
            "requests_per_second": round(self.rate(self.requests), 1),
            "events_sent": self.events_sent,
            "events_accepted": self.events_accepted,
            "events_per_second": round(self.rate(self.events_accepted), 1),
            "errors": dict(self.errors),
            "skipped": self.skipped,
            "error_samples": self.error_samples,
            "endpoints": {
                name: stats.summary(self.elapsed_seconds) for name, stats in self.endpoints.items() if stats.requests
            },
            "client": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        }


class _Driver:
    def __init__(self, options: LoadOptions, client: httpx.AsyncClient, report: LoadReport) -> None:
        self.options = options
        self.client = client
        self.report = report
        self.rng = random.Random(options.seed)  # noqa: S311 - synthetic traffic, not security
        self.stream = SyntheticEvents(
            players=options.players,
            session_start=recent_start,
            out_of_order=options.out_of_order,
            duplicates=options.duplicates,
            rng=self.rng,
        )

    async def one_request(self, scheduled: float | None = None) -> None:
        roll = self.rng.random()
        player = self.rng.choice(self.stream.players)
        events: list[Event] = []
        if roll < self.options.rest_reads:
            name = "GET /sessions"
            send = self.client.get("/sessions", params={"player_id": player})
        elif roll < self.options.rest_reads + self.options.graphql_reads:
            name = "POST /graphql"
            body = {"query": GRAPHQL_SESSIONS, "variables": {"id": player}}
            send = self.client.post("/graphql", json=body)
        else:
            name = "POST /events"
            events = self.stream.batch(self.rng.randint(1, self.options.max_batch))
            self.report.events_sent += len(events)
            send = self.client.post("/events", json={"rows": events})
        stats = self.report.endpoints[name]
        stats.requests += 1
        started = time.perf_counter() if scheduled is None else scheduled
        try:
            response = await send
        except httpx.HTTPError as exc:
            self.error(stats, type(exc).__name__, str(exc))
            return
        clock = time.perf_counter() if scheduled is None else asyncio.get_running_loop().time()
        stats.latencies.append(clock - started)
        if response.status_code != 200:
            self.error(stats, str(response.status_code), response.text)
        elif name == "POST /graphql" and response.json().get("errors"):
            self.error(stats, "graphql errors", response.text)
        else:
            stats.ok += 1
            self.report.events_accepted += len(events)

    def error(self, stats: EndpointStats, kind: str, detail: str) -> None:
        stats.errors[kind] += 1
        self.report.error_samples.setdefault(kind, detail[:300])

    async def closed_loop(self, deadline: float) -> None:
        async def client() -> None:
            while time.monotonic() < deadline:
                await self.one_request()

        await asyncio.gather(*(client() for _ in range(self.options.concurrency)))

    async def open_loop(self, duration: float, rate: float) -> None:
        # The schedule is fixed up front: exactly ceil(rate * duration) sends fall due.
        loop = asyncio.get_running_loop()
        first = loop.time()
        end = first + duration
        tasks: set[asyncio.Task[None]] = set()
        sent = 0
        while (due := first + sent / rate) < end:
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            sent += 1
            if len(tasks) >= self.options.max_in_flight:
                self.report.skipped += 1
                continue
            task = asyncio.create_task(self.one_request(scheduled=due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)


def _status(report: LoadReport) -> str:
    errors = sum(report.errors.values())
    return (
        f"{report.requests:,} requests ({report.rate(report.requests):,.0f}/s)  "
        f"{report.events_accepted:,} events ({report.rate(report.events_accepted):,.0f}/s)  {errors:,} errors"
    )


async def run_load(options: LoadOptions, *, progress: bool = False) -> LoadReport:
    # httpx logs every request at INFO: noise, and measurable client CPU under load.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    connections = options.concurrency if options.rate is None else options.max_in_flight
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    try:
        status, body = await asyncio.to_thread(readiness.readyz, options.url, options.timeout_seconds)
    except OSError as exc:
        raise LoadgenError(f"no service answers at {options.url}: {type(exc).__name__}: {exc}") from exc
    if status != 200:
        raise LoadgenError(f"the service at {options.url} is not ready: {status} {body}")
    async with httpx.AsyncClient(base_url=options.url, limits=limits, timeout=options.timeout_seconds) as client:
        report = LoadReport(options, started_at=datetime.now(UTC).isoformat(timespec="seconds"))
        driver = _Driver(options, client, report)
        started = time.monotonic()
        deadline = started + options.duration_seconds
        with Progress("loadgen", options.duration_seconds, interval=5.0, enabled=progress) as bar:

            async def show() -> None:
                while True:
                    report.elapsed_seconds = time.monotonic() - started
                    bar.update(min(report.elapsed_seconds, options.duration_seconds), _status(report))
                    await asyncio.sleep(0.5)

            shower = asyncio.create_task(show())
            try:
                if options.rate is None:
                    await driver.closed_loop(deadline)
                else:
                    await driver.open_loop(options.duration_seconds, options.rate)
            finally:
                shower.cancel()
            report.elapsed_seconds = time.monotonic() - started
            bar.update(options.duration_seconds, _status(report))
    return report


def render_report(report: LoadReport, stream: IO[str]) -> None:
    options = report.options
    mode = f"{options.rate:g} requests/s" if options.rate else f"{options.concurrency} concurrent clients"
    console = Console(file=stream, width=max(100, Console(file=stream).width), highlight=False)
    console.print(
        f"loadgen {options.url}: {mode}, {options.players:,} players, {report.elapsed_seconds:.1f} s "
        f"(out of order {options.out_of_order:.0%}, duplicates {options.duplicates:.0%})",
        markup=False,
        soft_wrap=True,
    )
    table = Table(box=None, pad_edge=False)
    for column in ("endpoint", "requests", "ok", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}"

    for name, stats in report.endpoints.items():
        if not stats.requests:
            continue
        s = stats.summary(report.elapsed_seconds)
        errors = sum(stats.errors.values())
        table.add_row(
            name,
            f"{s['requests']:,}",
            f"{s['ok']:,}",
            f"{errors:,}",
            f"{s['requests_per_second']:,.1f}",
            ms(s["p50_ms"]),
            ms(s["p95_ms"]),
            ms(s["p99_ms"]),
            ms(s["max_ms"]),
        )
    console.print(table)
    error_text = ", ".join(f"{name}: {count:,}" for name, count in sorted(report.errors.items())) or "none"
    console.print(
        f"events: {report.events_accepted:,} accepted of {report.events_sent:,} sent, "
        f"{report.rate(report.events_accepted):,.1f} events/s; "
        f"requests: {report.requests:,}, {report.rate(report.requests):,.1f}/s; errors: {error_text}"
        + (f"; skipped (too many in flight): {report.skipped:,}" if report.skipped else ""),
        markup=False,
        soft_wrap=True,
    )


# ---------------------------------------------------------------------------------------
# Command line


def _date(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the service (default %(default)s)")
    parser.add_argument(
        "--players", type=positive_int, default=1000, metavar="N", help="synthetic players (default %(default)s)"
    )
    parser.add_argument(
        "--duration", type=positive_float, default=10.0, metavar="SECONDS", help="seconds to run (default %(default)s)"
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=8,
        metavar="N",
        help="clients sending back to back (default %(default)s)",
    )
    parser.add_argument(
        "--rate", type=positive_float, metavar="N", help="requests/s instead of --concurrency (open loop; default: off)"
    )
    parser.add_argument(
        "--max-in-flight",
        type=positive_int,
        default=256,
        metavar="N",
        help="with --rate: open requests at most (default 256)",
    )
    parser.add_argument(
        "--max-batch",
        type=batch_size,
        default=MAX_BATCH_EVENTS,
        metavar="N",
        help="events per POST: 1 to this (default 10)",
    )
    parser.add_argument(
        "--out-of-order",
        type=share,
        default=0.1,
        metavar="SHARE",
        help="share of sessions whose end is sent first (default 0.1)",
    )
    parser.add_argument(
        "--duplicates", type=share, default=0.05, metavar="SHARE", help="share of events sent twice (default 0.05)"
    )
    parser.add_argument(
        "--rest-reads",
        type=share,
        default=0.0,
        metavar="SHARE",
        help="share of requests that GET /sessions (default 0)",
    )
    parser.add_argument(
        "--graphql-reads",
        type=share,
        default=0.0,
        metavar="SHARE",
        help="share of requests that query GraphQL (default 0)",
    )
    parser.add_argument(
        "--timeout", type=positive_float, default=10.0, metavar="SECONDS", help="seconds per request (default 10)"
    )
    parser.add_argument("--seed", type=int, metavar="N", help="random seed, for repeatable traffic (default: random)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar / progress lines on stderr")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object instead of a table")
    data = parser.add_argument_group("writing a data set for `import` instead of sending")
    data.add_argument("--write-jsonl", type=Path, metavar="FILE", help="write events to FILE (.gz/.bz2: compressed)")
    data.add_argument(
        "--events", type=positive_int, default=100_000, metavar="N", help="events to write (default 100000)"
    )
    data.add_argument(
        "--from", dest="first_day", type=_date, metavar="DATE", help="first session day (default: 7 days ago)"
    )
    data.add_argument(
        "--days", type=positive_float, default=7.0, metavar="DAYS", help="days the sessions span (default 7)"
    )
    data.add_argument(
        "--invalid", type=share, default=0.0, metavar="SHARE", help="share of lines written broken (default 0)"
    )


def main(args: argparse.Namespace) -> int:
    if args.rest_reads + args.graphql_reads > 1:
        raise LoadgenError("--rest-reads and --graphql-reads add up to more than 1")
    if args.write_jsonl is not None:
        first_day = args.first_day or datetime.now(UTC) - timedelta(days=args.days)
        stream = SyntheticEvents(
            players=args.players,
            session_start=starts_between(first_day, args.days),
            out_of_order=args.out_of_order,
            duplicates=args.duplicates,
            # Far apart, so that a re-sent copy is rarely in flight with its original.
            spread=500,
            rng=random.Random(args.seed),  # noqa: S311 - synthetic data, not security
            limit=args.events,
        )
        written = write_jsonl(args.write_jsonl, stream, invalid=args.invalid)
        c = written.counts
        print(
            f"wrote {written.lines:,} events to {written.path}: {c.sessions:,} sessions "
            f"({c.ends_first:,} with the end first), {c.duplicates:,} events sent twice, "
            f"{c.lone_starts:,} starts without an end, {written.invalid:,} broken lines"
        )
        return 0
    options = LoadOptions(
        url=args.url.rstrip("/"),
        players=args.players,
        duration_seconds=args.duration,
        concurrency=args.concurrency,
        rate=args.rate,
        max_in_flight=args.max_in_flight,
        max_batch=args.max_batch,
        out_of_order=args.out_of_order,
        duplicates=args.duplicates,
        rest_reads=args.rest_reads,
        graphql_reads=args.graphql_reads,
        timeout_seconds=args.timeout,
        seed=args.seed,
    )
    report = asyncio.run(run_load(options, progress=not args.no_progress))
    if args.json:
        print(json.dumps(report.as_dict()), flush=True)
    else:
        render_report(report, sys.stdout)
    return 0 if report.ok == report.requests else 1
