"""`/metrics` after real traffic: request, ingest and Cassandra statement metrics.

Counters are process-wide and other tests move them too, so every test compares a
scrape taken before its own traffic with one taken after.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from graphql_service.api.middleware import RequestMetrics
from graphql_service.app import create_app
from graphql_service.settings import ConfigError, Settings
from graphql_service.store import migrations
from graphql_service.store.backends import Backend as Database

from .. import keyspaces
from ..events import end, new_player, now, session_pair, start
from ..servers import served, serving

pytestmark = pytest.mark.anyio

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

REQUESTS = "player_sessions_http_requests_total"
DURATION_COUNT = "player_sessions_http_request_duration_seconds_count"
EVENTS = "player_sessions_events_total"
SESSIONS = "player_sessions_sessions_total"
STATEMENT_COUNT = "player_sessions_cassandra_statement_duration_seconds_count"
STATEMENT_ERRORS = "player_sessions_cassandra_statement_errors_total"


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def moved_where(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much all series of `name` carrying these labels (whatever their others) moved."""
    wanted = set(labels.items())
    return sum(
        value - before.get((sample_name, sample_labels), 0.0)
        for (sample_name, sample_labels), value in after.items()
        if sample_name == name and wanted <= sample_labels
    )


async def test_ingest_outcomes_move_by_exactly_the_events_sent(client: httpx.AsyncClient) -> None:
    player = new_player("metrics")
    _, pair = session_pair(player, now() - timedelta(minutes=30))
    expired = [start(player, uuid.uuid4(), now() - timedelta(days=400))]
    invalid = [*session_pair(player, now() - timedelta(hours=2))[1], start(player, uuid.uuid4(), now(), "Finland")]
    before = await scrape(client)

    assert (await client.post("/events", json={"rows": pair})).status_code == 200
    # Re-sent: accepted again (storing it changes nothing).
    assert (await client.post("/events", json={"rows": pair})).status_code == 200
    assert (await client.post("/events", json={"rows": expired})).status_code == 200
    assert (await client.post("/events", json={"rows": invalid})).status_code == 400
    assert (await client.get("/sessions", params={"player_id": player})).status_code == 200
    after = await scrape(client)

    assert moved(before, after, EVENTS, outcome="accepted") == 4
    assert moved(before, after, EVENTS, outcome="expired") == 1
    assert moved(before, after, EVENTS, outcome="rejected") == 3
    # Reads count nothing: they write nothing, so they cannot tell a first sight from a second.
    assert not [name for name, _ in after if name.startswith(SESSIONS)]


async def test_requests_are_counted_and_timed_by_route_method_and_status(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _, pair = session_pair(new_player("metrics"), now() - timedelta(minutes=30))
    before = await scrape(client)

    assert (await client.post("/events", json=pair)).status_code == 200
    assert (await client.post("/events", json=[])).status_code == 400
    assert (await client.post("/events", json=[{"event": "nonsense"}])).status_code == 400
    assert (await client.post("/events", content=b" " * (settings.max_body_bytes + 1))).status_code == 413
    assert (await client.get("/events")).status_code == 405
    assert (await client.get("/no-such-page/42")).status_code == 404
    after = await scrape(client)

    for status, count in (("200", 1), ("400", 2), ("413", 1)):
        assert moved(before, after, REQUESTS, route="/events", method="POST", status=status) == count
        assert moved(before, after, DURATION_COUNT, route="/events", method="POST", status=status) == count
    assert moved(before, after, REQUESTS, route="/events", method="GET", status="405") == 1
    assert moved(before, after, REQUESTS, route="unmatched", method="GET", status="404") == 1
    assert not [labels for _, labels in after if ("route", "/no-such-page/42") in labels]


async def test_a_path_with_an_id_is_counted_under_its_route_template() -> None:
    async def thing(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.path_params["thing_id"])

    app = Starlette(routes=[Route("/things/{thing_id}", thing)], middleware=[Middleware(RequestMetrics)])
    before = parse(generate_latest(REGISTRY).decode())

    async with serving(app) as client:
        for thing_id in ("a1", "b2", "c3"):
            assert (await client.get(f"/things/{thing_id}")).text == thing_id
    after = parse(generate_latest(REGISTRY).decode())

    assert moved(before, after, REQUESTS, route="/things/{thing_id}", method="GET", status="200") == 3
    assert not [labels for _, labels in after if ("route", "/things/a1") in labels]


async def test_each_statement_execution_is_timed_under_its_name(client: httpx.AsyncClient) -> None:
    player = new_player("metrics")
    _, pair = session_pair(player, now() - timedelta(minutes=30))
    before = await scrape(client)

    assert (await client.post("/events", json=pair)).status_code == 200
    ingested = await scrape(client)
    assert (await client.get("/sessions", params={"player_id": player})).status_code == 200
    after = await scrape(client)

    # Ingest writes each event blind and reads nothing: the end is one single-partition batch
    # (timed under its own name), the start its session row and its per-country row (bucket
    # marks are coalesced per process; a minute's first also records its shard count, a
    # day's is logged for the settlers).
    assert moved(before, ingested, STATEMENT_COUNT, statement="write_end") == 1
    assert moved(before, ingested, STATEMENT_COUNT, statement="write_start") == 1
    assert moved(before, ingested, STATEMENT_COUNT, statement="insert_session_start") == 1
    marks = moved(before, ingested, STATEMENT_COUNT, statement="mark_start_bucket")
    marks += moved(before, ingested, STATEMENT_COUNT, statement="record_minute_shards")
    marks += moved(before, ingested, STATEMENT_COUNT, statement="mark_changed_start_day")
    assert marks <= 5
    assert moved_where(before, ingested, STATEMENT_COUNT) == 3 + marks
    # The read: the end index, then the sessions it names; nothing written.
    assert moved_where(ingested, after, STATEMENT_COUNT) == 2
    assert moved(ingested, after, STATEMENT_COUNT, statement="recent_ends") == 1
    assert moved(ingested, after, STATEMENT_COUNT, statement="session_halves") == 1
    assert moved_where(before, after, STATEMENT_ERRORS) == 0


async def test_statement_errors_are_counted_by_statement_and_error(settings: Settings, database: Database) -> None:
    # Statements prepared against a keyspace that is then dropped: Cassandra refuses them.
    async with keyspaces.own_keyspace(database, settings, "doomed") as doomed:
        async with serving(create_app(doomed, database=database)) as client:
            await migrations.drop_keyspace(database, doomed.keyspace)
            before = await scrape(client)
            response = await client.post("/events", json=[end(new_player(), uuid.uuid4(), now())])
            after = await scrape(client)

    # Not a "retry later" 503: a missing table is our configuration problem (logged).
    assert response.status_code == 500
    # An end is one statement: the blind batch of its index row and end cell.
    assert moved_where(before, after, STATEMENT_ERRORS, statement="write_end") == 1
    assert moved_where(before, after, STATEMENT_ERRORS) == 1
    assert moved(before, after, STATEMENT_COUNT, statement="write_end") == 1
    assert moved(before, after, REQUESTS, route="/events", method="POST", status="500") == 1


# --- several uvicorn workers, one view of the counters ---------------------------------


async def test_every_worker_reports_the_sum_of_all_workers_in_multiprocess_mode(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    # `database` only makes sure the keyspace is migrated before the server starts.
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()

    def traffic() -> list[Samples]:
        # Blocking (a server process and plain HTTP, no storage call): run off the event loop.
        with served(
            settings, tmp_path / "server.log", WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
        ) as url:
            # A new connection per request, so the kernel spreads them over both workers.
            for _ in range(10):
                assert httpx.get(f"{url}/healthz").status_code == 200
            return [parse(httpx.get(f"{url}/metrics").text) for _ in range(6)]

    scrapes = await anyio.to_thread.run_sync(traffic)

    # Whichever worker answered the scrape, it counted the other worker's requests too.
    for samples in scrapes:
        assert samples[(REQUESTS, frozenset({("route", "/healthz"), ("method", "GET"), ("status", "200")}))] == 10
    worker_pids = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
    assert len(worker_pids) == 2


def test_a_missing_multiprocess_directory_is_a_configuration_error(tmp_path: Path) -> None:
    assert Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}).metrics_multiprocess_dir == tmp_path
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing")})
