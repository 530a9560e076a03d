"""Faults on a real three-node cluster (RF 3, LOCAL_QUORUM), with game clients sending all
the while to two API processes, one per storage backend, sharing one keyspace.

Clients behave as the README asks: send each batch until it is answered 200, waiting on a
503 (which must carry Retry-After). What is answered 200 must be kept: every session whose
halves were both acknowledged is listed exactly once, with the values sent.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from graphql_service.domain.errors import ConnectError, StorageUnavailable
from graphql_service.settings import Settings
from graphql_service.store import backends, migrations
from graphql_service.tools import devnode

from ..events import end, start
from ..servers import served

pytestmark = pytest.mark.anyio

# Apart from the development node on 127.0.0.1 (and the TLS test's on 127.0.0.2), which the
# other tests keep using meanwhile.
FIRST_ADDRESS = "127.0.0.11"
REQUEST_TIMEOUT = 2
# What "answers within the timeout" allows on top: HTTP, JSON, a busy 2-core machine.
SLACK_SECONDS = 1.5
CLIENTS_PER_SERVER = 2


@dataclass
class Cluster:
    specs: list[devnode.NodeSpec]
    settings: Settings
    node: devnode.NodeSettings

    def start(self, spec: devnode.NodeSpec) -> None:
        devnode.start(self.node, spec, quiet=True)

    def signal(self, spec: devnode.NodeSpec, sig: signal.Signals) -> None:
        os.kill(devnode.pid_of(spec), sig)


async def _migrate(settings: Settings) -> None:
    # The servers get a 2 s timeout; schema changes on a cluster that has just formed can take
    # longer (schema agreement), and its nodes may still be meeting each other: retry a while.
    patient = settings.with_overrides(request_timeout_seconds=30)
    deadline = time.monotonic() + 120
    while True:
        try:
            db = await backends.connect(patient)
            try:
                await migrations.apply(db, patient)
            finally:
                await db.close()
            return
        except (ConnectError, StorageUnavailable):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("three-nodes")
    specs = devnode.cluster_specs(root, 3, first_address=FIRST_ADDRESS)
    settings = Settings.from_env().with_overrides(
        contact_points=tuple(spec.address for spec in specs),
        keyspace=f"faults_{os.getpid()}_{secrets.token_hex(3)}",
        replication=f"{{'class': 'NetworkTopologyStrategy', '{devnode.DATACENTER}': 3}}",
        read_consistency="LOCAL_QUORUM",
        write_consistency="LOCAL_QUORUM",
        request_timeout_seconds=REQUEST_TIMEOUT,
    )
    node = devnode.NodeSettings.from_env().with_overrides(heap="768M")
    try:
        devnode.start_cluster(node, specs, quiet=True)
        asyncio.run(_migrate(settings))
        yield Cluster(specs, settings, node)
    finally:
        for spec in specs:
            devnode.stop(spec, timeout=0)  # thrown away: no graceful drain


@pytest.fixture(scope="module")
def servers(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    logs = tmp_path_factory.mktemp("fault-servers")
    env = {
        "CASSANDRA_CONTACT_POINTS": ",".join(cluster.settings.contact_points),
        "CASSANDRA_REPLICATION": cluster.settings.replication,
        "CASSANDRA_READ_CONSISTENCY": "LOCAL_QUORUM",
        "CASSANDRA_WRITE_CONSISTENCY": "LOCAL_QUORUM",
        "CASSANDRA_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT),
        "CASSANDRA_CONNECT_TIMEOUT": str(REQUEST_TIMEOUT),
    }
    acsylla = cluster.settings.with_overrides(driver="acsylla")
    python = cluster.settings.with_overrides(driver="cassandra-driver")
    # One process asks a second replica after 200 ms, the other waits for its timeout: a
    # frozen node is covered both ways.
    speculative = {**env, "CASSANDRA_SPECULATIVE_DELAY_MS": "200"}
    with (
        served(acsylla, logs / "acsylla.log", **speculative) as a,
        served(python, logs / "cassandra-driver.log", **env) as b,
    ):
        yield [a, b]


LABELS = ("acsylla, speculative 200 ms", "cassandra-driver")


@dataclass
class Traffic:
    """What the clients sent and were told."""

    acknowledged: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    slowest: float = 0.0
    late: int = 0
    events: int = 0

    def summary(self) -> str:
        answers = "; ".join(
            f"{label}: "
            + ", ".join(f"{n:,} x {status}" for (lb, status), n in sorted(self.statuses.items()) if lb == label)
            for label in LABELS
        )
        return (
            f"{self.events:,} events acknowledged, {len(self.acknowledged):,} sessions complete; "
            f"answers ({answers}); slowest {self.slowest:.2f}s"
        )


class Clients:
    """Game clients: each sends sessions (both halves in one batch, or the end first in
    its own batch) and, like the README's clients, retries a 503 after Retry-After."""

    def __init__(self, servers: list[str], traffic: Traffic, *, with_reads: bool = False) -> None:
        self.servers = servers
        self.traffic = traffic
        self.with_reads = with_reads
        self.stopping = asyncio.Event()
        self.run_id = secrets.token_hex(3)

    async def request(self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        began = time.monotonic()
        try:
            response = await client.request(method, url, timeout=30, **kwargs)
        except httpx.HTTPError as exc:
            self.traffic.errors.append(f"{method} {url}: {exc!r}")
            return None
        took = time.monotonic() - began
        self.traffic.slowest = max(self.traffic.slowest, took)
        self.traffic.late += took > REQUEST_TIMEOUT + SLACK_SECONDS
        self.traffic.statuses[LABELS[self.servers.index(str(client.base_url).rstrip("/"))], response.status_code] += 1
        if response.status_code == 503 and "retry-after" not in response.headers:
            self.traffic.errors.append(f"{method} {url}: 503 without Retry-After")
        elif response.status_code not in (200, 503):
            self.traffic.errors.append(f"{method} {url}: {response.status_code} {response.text[:200]}")
        return response

    async def send(self, client: httpx.AsyncClient, rows: list[dict[str, Any]]) -> bool:
        for _ in range(100):
            response = await self.request(client, "POST", "/events", json={"rows": rows})
            if response is None:
                return False
            if response.status_code == 200:
                self.traffic.events += len(rows)
                return True
            if response.status_code != 503:
                return False
            await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 0.25))
        return False

    async def one_client(self, number: int) -> None:
        server = self.servers[number % len(self.servers)]
        async with httpx.AsyncClient(base_url=server) as client:
            i = 0
            while not self.stopping.is_set():
                player = f"fault-{self.run_id}-{number}-{i // 4}"
                session = uuid.uuid4()
                began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30) + timedelta(seconds=i)
                first = start(player, session, began, country=("FI", "SE", "DE")[i % 3])
                last = end(player, session, began + timedelta(minutes=5))
                if i % 2:
                    sent = await self.send(client, [first, last])
                else:
                    sent = await self.send(client, [last]) and await self.send(client, [first])
                if sent:
                    self.traffic.acknowledged[session] = {"player": player, "start": first, "end": last}
                if self.with_reads:
                    await self.request(client, "GET", "/sessions", params={"player_id": player})
                i += 1

    async def run_while(self, fault: Callable[[], Awaitable[None]]) -> None:
        clients = [asyncio.create_task(self.one_client(n)) for n in range(CLIENTS_PER_SERVER * len(self.servers))]
        try:
            await fault()
        finally:
            self.stopping.set()
            await asyncio.gather(*clients)


def _listed_once_as_sent(listed: list[dict[str, Any]], expected: dict[uuid.UUID, dict[str, Any]]) -> list[str]:
    problems = []
    counts = Counter(row["session_id"] for row in listed)
    for session, sent in expected.items():
        rows = [row for row in listed if row["session_id"] == str(session)]
        if counts[str(session)] != 1:
            problems.append(f"session {session} of {sent['player']} listed {counts[str(session)]} times")
            continue
        row = rows[0]
        want_start = datetime.fromisoformat(sent["start"]["ts"]).replace(tzinfo=UTC)
        want_end = datetime.fromisoformat(sent["end"]["ts"]).replace(tzinfo=UTC)
        if (
            row["country"] != sent["start"]["country"]
            or datetime.fromisoformat(row["start_ts"]) != want_start
            or datetime.fromisoformat(row["end_ts"]) != want_end
        ):
            problems.append(f"session {session} listed as {row}, sent {sent}")
    return problems


async def verify(servers: list[str], traffic: Traffic) -> list[str]:
    """Every acknowledged session listed once with what was sent, asked of both processes."""
    by_player: dict[str, dict[uuid.UUID, dict[str, Any]]] = {}
    for session, sent in traffic.acknowledged.items():
        by_player.setdefault(sent["player"], {})[session] = sent
    problems: list[str] = []
    async with httpx.AsyncClient() as client:
        for n, (player, sessions) in enumerate(sorted(by_player.items())):
            response = await client.get(
                f"{servers[n % len(servers)]}/sessions", params={"player_id": player, "limit": 100}, timeout=30
            )
            if response.status_code != 200:
                problems.append(f"GET /sessions for {player}: {response.status_code} {response.text[:200]}")
                continue
            problems += _listed_once_as_sent(response.json()["sessions"], sessions)
    return problems


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n    {line}", flush=True)


async def wait_until_ready(servers: list[str], within: float = 120) -> float:
    began = time.monotonic()
    async with httpx.AsyncClient() as client:
        for server in servers:
            while (await client.get(f"{server}/readyz", timeout=5)).status_code != 200:
                assert time.monotonic() - began < within, f"{server} did not become ready again"
                await asyncio.sleep(0.5)
    return time.monotonic() - began


async def test_acknowledged_events_survive_a_node_killed_under_ingest(
    cluster: Cluster, servers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # The first contact point: the drivers' control connection is on it.
    victim = cluster.specs[0]
    traffic = Traffic()

    async def kill_a_node() -> None:
        await asyncio.sleep(3)
        cluster.signal(victim, signal.SIGKILL)
        await asyncio.sleep(8)

    await Clients(servers, traffic).run_while(kill_a_node)
    problems = await verify(servers, traffic)
    report(capsys, f"kill -9 {victim.address} under ingest: {traffic.summary()}; {len(problems)} problems")

    assert not traffic.errors, traffic.errors[:10]
    assert traffic.acknowledged, "no session was acknowledged at all"
    assert not problems, problems[:10]

    await asyncio.to_thread(cluster.start, victim)
    report(capsys, f"{victim.address} restarted; both processes ready after {await wait_until_ready(servers):.1f}s")


async def test_a_frozen_node_delays_no_answer_past_the_request_timeout(
    cluster: Cluster, servers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    victim = cluster.specs[1]
    traffic = Traffic()

    async def freeze_a_node() -> None:
        await asyncio.sleep(2)
        cluster.signal(victim, signal.SIGSTOP)
        try:
            await asyncio.sleep(3 * REQUEST_TIMEOUT)
        finally:
            cluster.signal(victim, signal.SIGCONT)
        await asyncio.sleep(2)

    await Clients(servers, traffic, with_reads=True).run_while(freeze_a_node)
    problems = await verify(servers, traffic)
    report(
        capsys,
        f"SIGSTOP {victim.address} for {3 * REQUEST_TIMEOUT}s (request timeout {REQUEST_TIMEOUT}s): "
        f"{traffic.summary()}; {traffic.late} answers later than {REQUEST_TIMEOUT + SLACK_SECONDS}s; "
        f"{len(problems)} problems",
    )

    assert not traffic.errors, traffic.errors[:10]
    assert traffic.late == 0, f"{traffic.late} requests took longer than the timeout; slowest {traffic.slowest:.2f}s"
    assert not problems, problems[:10]


async def test_a_whole_cluster_outage_is_503_at_once_and_heals_by_itself_when_a_quorum_is_back(
    cluster: Cluster, servers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    for spec in cluster.specs:
        cluster.signal(spec, signal.SIGKILL)
    player = f"outage-{secrets.token_hex(3)}"
    session = uuid.uuid4()
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    rows = [start(player, session, began), end(player, session, began + timedelta(minutes=3))]
    async with httpx.AsyncClient(timeout=30) as client:
        for server in servers:
            t0 = time.monotonic()
            ready = await client.get(f"{server}/readyz")
            readyz_took = time.monotonic() - t0
            assert ready.status_code == 503, ready.text
            assert readyz_took <= 2 + 0.5, f"/readyz took {readyz_took:.2f}s"

            t0 = time.monotonic()
            write = await client.post(f"{server}/events", json={"rows": rows})
            write_took = time.monotonic() - t0
            assert write.status_code == 503, write.text
            assert write.headers["retry-after"] == "1"
            assert write_took <= REQUEST_TIMEOUT + SLACK_SECONDS, f"the write took {write_took:.2f}s"
            report(
                capsys,
                f"cluster down, {server}: /readyz 503 in {readyz_took:.2f}s, "
                f"POST /events 503 + Retry-After in {write_took:.2f}s",
            )

        # Two of three nodes are a quorum: enough for LOCAL_QUORUM reads and writes.
        t0 = time.monotonic()
        await asyncio.to_thread(devnode.start_cluster, cluster.node, cluster.specs[:2], quiet=True)
        started = time.monotonic() - t0
        report(
            capsys,
            f"two nodes back after {started:.1f}s; both processes ready "
            f"{await wait_until_ready(servers):.1f}s later, without a restart",
        )

        for server in servers:
            assert (await client.post(f"{server}/events", json={"rows": rows})).status_code == 200
            listed = (await client.get(f"{server}/sessions", params={"player_id": player})).json()["sessions"]
            assert [row["session_id"] for row in listed] == [str(session)]
