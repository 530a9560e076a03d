"""Hostile load: does one served process keep answering while it is attacked, and does its
memory come back afterwards? (issue 20)

In a scratch keyspace `bench_hostile_<time>` (migrated here, dropped at the end), one served
process (`python -m graphql_service serve`, default settings, its soft open-file limit set to
1024 as on the machine of the original probe) is attacked in turn by:

1. idle connections: 1,100 TCP connections that send nothing, re-opened as they are closed,
   from one address; then the same spread over 11 addresses (100 each, the per-client cap);
2. slowloris: 500 clients (10 addresses) sending a header line byte by byte, one byte every
   2 s, re-connecting when closed;
3. subscriptions: 500 websocket connections (5 addresses) x 20 distinct `playerSessions`
   subscriptions each, held, then closed;
4. a flooded player: 100,000 events (50,000 sessions) for one player id over `POST /events`
   (10 a batch, 16 in flight), then that player's `GET /sessions` and `/players/{id}/stats`.

While each attack runs, a probe in its own process sends `GET /healthz` and `POST /events`
(a new session pair) one after the other, 10 times a second each, and reports the p99 of
each; the same probe first runs without an attack (the baseline). The server's RSS
(/proc/PID/status) is read before each attack and 10 s after it ends.

    .venv/bin/python bench/hostile.py [--seconds 20] [--only idle,slowloris,subscriptions,flood]

Attackers connect from 127.0.0.x addresses (all loopback on Linux). Needs the local node or
CASSANDRA_CONTACT_POINTS. One Markdown table on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect as ws_connect

from graphql_service.settings import Settings
from graphql_service.store import backends, migrations

ROOT = Path(__file__).resolve().parent.parent
PROBE_EVERY = 0.1
SETTLE_SECONDS = 10
OPEN_FILES = 1024
PLAYER_SESSIONS = "subscription($id: ID!) { playerSessions(id: $id) { sessionId } }"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def session_pair(player: str, sessions: int = 1) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = []
    for _ in range(sessions):
        session = str(uuid.uuid4())
        rows.append(
            {
                "event": "start",
                "player_id": player,
                "session_id": session,
                "ts": (now - timedelta(minutes=30)).isoformat(),
                "country": "FI",
            }
        )
        rows.append({"event": "end", "player_id": player, "session_id": session, "ts": now.isoformat()})
    return rows


# -- the probe: its own process, so the attackers' CPU in this one does not delay it -----


def probe_main(url: str, seconds: float) -> None:
    asyncio.run(probe(url, seconds))


async def probe(url: str, seconds: float) -> None:
    timings: dict[str, list[float]] = {"healthz": [], "events": []}
    statuses: dict[str, Counter[str]] = {"healthz": Counter(), "events": Counter()}
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while time.monotonic() < deadline:
            started = time.monotonic()
            for name, send in (
                ("healthz", lambda: client.get("/healthz")),
                ("events", lambda: client.post("/events", json={"rows": session_pair(f"probe-{uuid.uuid4().hex}")})),
            ):
                began = time.perf_counter()
                try:
                    answer = await send()
                    statuses[name][str(answer.status_code)] += 1
                except httpx.HTTPError as exc:
                    statuses[name][type(exc).__name__] += 1
                timings[name].append(time.perf_counter() - began)
            await asyncio.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - started)))
    print(json.dumps({"timings": timings, "statuses": {k: dict(v) for k, v in statuses.items()}}))


def p99_ms(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100)[98] * 1000


@dataclass
class ProbeResult:
    healthz_p99_ms: float
    events_p99_ms: float
    statuses: dict[str, dict[str, int]]


# An attack runs until it is cancelled, counting what happens into the dict it is given.
Attack = Callable[[dict[str, Any]], Awaitable[None]]


async def probed(
    url: str, seconds: float, attack: Attack, *, finite: bool = False
) -> tuple[ProbeResult, dict[str, Any]]:
    """Run `attack` while the probe runs for `seconds`; then the attack is cancelled, or, if
    `finite`, awaited to its end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--probe", url, str(seconds), stdout=asyncio.subprocess.PIPE
    )
    notes: dict[str, Any] = {}
    attacking = asyncio.ensure_future(attack(notes))
    out, _ = await process.communicate()
    if finite:
        await attacking  # runs to its end; the probe measured the first `seconds` of it
    attacking.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await attacking
    data = json.loads(out)
    result = ProbeResult(p99_ms(data["timings"]["healthz"]), p99_ms(data["timings"]["events"]), data["statuses"])
    return result, notes


async def until_cancelled(clients: list[asyncio.Future[None]]) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        for client in clients:
            client.cancel()
        await asyncio.gather(*clients, return_exceptions=True)


# -- the attacks ---------------------------------------------------------------------------


@dataclass
class Tally:
    opened: int = 0
    refused: int = 0
    closed_by_server: int = 0
    answers: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "refused": self.refused,
            "closed_by_server": self.closed_by_server,
            "answers": dict(self.answers),
        }


async def _hold(host: str, port: int, source: str, tally: Tally, trickle: bytes | None, every: float) -> None:
    """One attacking client, forever: connect, send nothing (or `trickle` a byte at a time), and
    connect again whenever the server closes the connection."""
    while True:
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
        except OSError:
            tally.refused += 1
            await asyncio.sleep(0.5)
            continue
        tally.opened += 1
        try:
            if trickle is None:
                first = await reader.read(64)
            else:
                first = b""
                for byte in trickle:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    with contextlib.suppress(TimeoutError):
                        first = await asyncio.wait_for(reader.read(64), every)
                    if first or reader.at_eof():
                        break
            tally.answers[first.split(b" ")[1].decode() if first.startswith(b"HTTP/") else "closed"] += 1
            tally.closed_by_server += 1
        except OSError:
            tally.closed_by_server += 1
        finally:
            writer.close()
        await asyncio.sleep(0.1)


def attack_connections(url: str, addresses: list[str], per_address: int, trickle: bytes | None, every: float) -> Attack:
    host, port = url.removeprefix("http://").split(":")

    async def attack(notes: dict[str, Any]) -> None:
        tally = Tally()
        notes["clients"] = tally
        await until_cancelled(
            [
                asyncio.ensure_future(_hold(host, int(port), source, tally, trickle, every))
                for source in addresses
                for _ in range(per_address)
            ]
        )

    return attack


def attack_subscriptions(url: str, connections: int, per_connection: int, addresses: int) -> Attack:
    ws_url = url.replace("http://", "ws://") + "/graphql"

    async def one(index: int, tally: Counter[str]) -> None:
        source = f"127.0.0.{60 + index % addresses}"
        try:
            async with ws_connect(
                ws_url,
                subprotocols=["graphql-transport-ws"],
                open_timeout=30,
                local_addr=(source, 0),  # type: ignore[list-item]
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init"}))
                await ws.recv()
                tally["connected"] += 1
                for n in range(per_connection):
                    payload = {"query": PLAYER_SESSIONS, "variables": {"id": f"sub-{index}-{n}"}}
                    await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
                async for raw in ws:
                    message = json.loads(raw)
                    if message.get("type") == "next":
                        errors = message["payload"].get("errors")
                        tally[errors[0]["extensions"].get("code", "error") if errors else "served"] += 1
                    elif message.get("type") == "error":
                        tally["error message"] += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # counted; the attack goes on
            tally[f"connection {type(exc).__name__}"] += 1

    async def attack(notes: dict[str, Any]) -> None:
        tally: Counter[str] = Counter()
        notes["subscriptions"] = tally
        await until_cancelled([asyncio.ensure_future(one(i, tally)) for i in range(connections)])

    return attack


def attack_flood(url: str, player: str, events: int, in_flight: int = 16) -> Attack:
    async def attack(notes: dict[str, Any]) -> None:
        tally: Counter[str] = Counter()
        notes["flood"] = tally
        batches = iter(range(events // 10))
        started = time.monotonic()

        async def sender(client: httpx.AsyncClient) -> None:
            for _ in batches:  # shared: each batch is sent once, by whichever sender is free
                try:
                    answer = await client.post("/events", json={"rows": session_pair(player, 5)})
                    tally[str(answer.status_code)] += 1
                except httpx.HTTPError as exc:
                    tally[type(exc).__name__] += 1

        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            await asyncio.gather(*(sender(client) for _ in range(in_flight)))
            notes["flood seconds"] = round(time.monotonic() - started)
            for name, path in (("sessions", f"/sessions?player_id={player}"), ("stats", f"/players/{player}/stats")):
                began = time.perf_counter()
                try:
                    status: object = (await client.get(path)).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                notes[f"read {name}"] = f"{status} in {(time.perf_counter() - began) * 1000:.0f} ms"

    return attack


# -- the run -------------------------------------------------------------------------------


async def prepare(settings: Settings, drop: bool) -> None:
    db = await backends.connect(settings)
    try:
        if drop:
            await migrations.drop_keyspace(db, settings.keyspace)
        else:
            await migrations.apply(db, settings)
    finally:
        await db.close()


def wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(240):
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url}/readyz not ready within 120 s")


def _limit_open_files() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # As `ulimit -n 1024` in a shell: soft and hard, so the server cannot raise it.
    limit = min(OPEN_FILES, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


async def run(url: str, pid: int, seconds: float, only: set[str]) -> list[str]:
    rows = [
        "| attack | `/healthz` p99 (ms) | `POST /events` p99 (ms) | vs. baseline | probe answers "
        "| RSS before → 10 s after (MB) | attack's own count |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    baseline, _ = await probed(url, seconds, _idle)
    rows.append(
        f"| none (baseline) | {baseline.healthz_p99_ms:.1f} | {baseline.events_p99_ms:.1f} | 1.0x | "
        f"{_answers(baseline)} | {rss_mb(pid):.0f} | |"
    )
    say(f"baseline: {rows[-1]}")
    one_address = ["127.0.0.40"]
    attacks: list[tuple[str, str, Attack]] = [
        ("idle", "1,100 idle connections, one address", attack_connections(url, one_address, 1100, None, 0)),
        (
            "idle",
            "1,100 idle connections, 11 addresses",
            attack_connections(url, [f"127.0.0.{41 + i}" for i in range(11)], 100, None, 0),
        ),
        (
            "slowloris",
            "500 slowloris clients, 10 addresses",
            attack_connections(
                url,
                [f"127.0.0.{70 + i}" for i in range(10)],
                50,
                b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 200,
                2.0,
            ),
        ),
        ("subscriptions", "500 websockets x 20 distinct subscriptions", attack_subscriptions(url, 500, 20, 5)),
        ("flood", "100,000 events for one player", attack_flood(url, f"flooded-{uuid.uuid4().hex[:8]}", 100_000)),
    ]
    for kind, name, attack in attacks:
        if kind not in only:
            continue
        before = rss_mb(pid)
        say(f"attack: {name} ...")
        # The flood runs to its end (and its reads); the probe measures its first minute.
        result, notes = await probed(
            url, seconds if kind != "flood" else max(seconds, 60), attack, finite=kind == "flood"
        )
        await asyncio.sleep(SETTLE_SECONDS)
        after = rss_mb(pid)
        ratio = result.events_p99_ms / baseline.events_p99_ms
        rows.append(
            f"| {name} | {result.healthz_p99_ms:.1f} | {result.events_p99_ms:.1f} | {ratio:.1f}x | "
            f"{_answers(result)} | {before:.0f} → {after:.0f} ({(after - before) / before:+.0%}) | {_notes(notes)} |"
        )
        say(rows[-1])
    return rows


async def _idle(notes: dict[str, Any]) -> None:
    await asyncio.Event().wait()


def _answers(result: ProbeResult) -> str:
    return "; ".join(
        f"{name} " + ", ".join(f"{status}x{count}" for status, count in sorted(statuses.items()))
        for name, statuses in result.statuses.items()
    )


def _notes(notes: dict[str, Any]) -> str:
    parts = []
    for name, value in notes.items():
        shown = value.as_dict() if isinstance(value, Tally) else value
        parts.append(f"{name}: {json.dumps(shown) if isinstance(shown, dict) else shown}")
    return "; ".join(parts).replace("|", "/")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--probe":
        probe_main(sys.argv[2], float(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="how long each attack (and the baseline) runs")
    parser.add_argument("--only", default="idle,slowloris,subscriptions,flood")
    args = parser.parse_args()
    keyspace = f"bench_hostile_{datetime.now(UTC):%Y%m%d%H%M%S}"
    settings = Settings.from_env().with_overrides(keyspace=keyspace)
    env = {**os.environ, "CASSANDRA_KEYSPACE": keyspace, "LOG_LEVEL": "WARNING"}
    asyncio.run(prepare(settings, drop=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.gettempdir()) / f"{keyspace}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "graphql_service", "serve"],
            env={**env, "PORT": str(port), "HOST": "127.0.0.1"},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_limit_open_files,  # a plain setrlimit before exec
        )
    try:
        wait_ready(url, server)
        rows = asyncio.run(run(url, server.pid, args.seconds, set(args.only.split(","))))
        print("\n".join(rows), flush=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            say("the server did not stop within 30 s of SIGINT: killed")
            server.kill()
            server.wait()
        asyncio.run(prepare(settings, drop=True))
    say(f"server log: {log_path}")


if __name__ == "__main__":
    main()
