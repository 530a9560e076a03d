"""Session starts per country and player statistics, against the real node.

Counts are global per country, so these tests run in a keyspace of their own."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database

from .. import keyspaces
from ..events import end, new_player, now, session_pair, start
from ..servers import serving

pytestmark = pytest.mark.anyio

STATS_QUERY = '{ player(id: "%s") { stats { completedSessions totalSeconds averageSeconds lastSessionEnd } } }'


@pytest.fixture(scope="module")
async def own_keyspace(settings: Settings, database: Database) -> AsyncIterator[Settings]:
    async with keyspaces.own_keyspace(database, settings, "starts") as own:
        yield own


@pytest.fixture
async def api(own_keyspace: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(own_keyspace, database=database)) as client:
        yield client


async def starts(api: httpx.AsyncClient, hours: int) -> dict[str, int]:
    response = await api.get("/session-starts", params={"hours": hours})
    assert response.status_code == 200, response.text
    return {c["country"]: c["session_starts"] for c in response.json()["countries"]}


def starts_in(country: str, count: int, ago: timedelta) -> list[dict[str, object]]:
    return [start(new_player(), uuid.uuid4(), now() - ago, country) for _ in range(count)]


async def test_starts_are_counted_per_country_largest_first(api: httpx.AsyncClient) -> None:
    await api.post("/events", json=starts_in("FI", 3, timedelta(minutes=10)))
    await api.post("/events", json=starts_in("se", 5, timedelta(minutes=20)))
    await api.post("/events", json=starts_in("DE", 1, timedelta(minutes=30)))

    response = await api.get("/session-starts", params={"hours": 1})

    body = response.json()
    assert body["hours"] == 1
    assert body["countries"][:3] == [
        {"country": "SE", "session_starts": 5},
        {"country": "FI", "session_starts": 3},
        {"country": "DE", "session_starts": 1},
    ]
    assert body["from"].endswith("+00:00") and body["to"].endswith("+00:00")


async def test_a_redelivered_start_counts_once(api: httpx.AsyncClient) -> None:
    events = starts_in("NO", 2, timedelta(minutes=5))
    for _ in range(3):
        await api.post("/events", json=events)

    assert (await starts(api, 1))["NO"] == 2


async def test_a_start_redelivered_with_another_country_or_time_counts_once(api: httpx.AsyncClient) -> None:
    player, session = new_player(), uuid.uuid4()
    await api.post("/events", json=[start(player, session, now() - timedelta(minutes=50), "BE")])
    assert (await starts(api, 1)).get("BE") == 1

    await api.post("/events", json=[start(player, session, now() - timedelta(minutes=20), "NL")])
    # Another minute: the next read of the player (here its stats) settles which start counts.
    await api.get(f"/players/{player}/stats")

    counted = await starts(api, 1)
    assert counted.get("NL") == 1
    assert "BE" not in counted


async def test_a_start_redelivered_with_another_country_in_the_same_minute_counts_once_at_once(
    api: httpx.AsyncClient,
) -> None:
    player, session = new_player(), uuid.uuid4()
    at = now() - timedelta(minutes=40)
    await api.post("/events", json=[start(player, session, at, "QA"), start(player, session, at, "QB")])

    counted = await starts(api, 1)  # no read of the player in between
    assert counted.get("QB") == 1  # equal times: the larger country code wins
    assert "QA" not in counted


async def test_new_starts_show_up_in_the_next_answer(api: httpx.AsyncClient) -> None:
    await api.post("/events", json=starts_in("EE", 2, timedelta(seconds=5)))
    assert (await starts(api, 1))["EE"] == 2

    await api.post("/events", json=starts_in("EE", 3, timedelta(seconds=1)))

    assert (await starts(api, 1))["EE"] == 5


async def test_a_late_start_counts_in_the_hour_it_happened(api: httpx.AsyncClient) -> None:
    await api.post("/events", json=starts_in("LV", 1, timedelta(hours=3)))
    assert "LV" not in await starts(api, 2)
    assert (await starts(api, 4))["LV"] == 1

    # Arriving late, after those windows were counted, still lands in its hour.
    await api.post("/events", json=starts_in("LV", 2, timedelta(hours=3, minutes=5)))

    assert "LV" not in await starts(api, 2)
    assert (await starts(api, 4))["LV"] == 3


async def test_starts_days_ago_are_in_long_windows_only(api: httpx.AsyncClient) -> None:
    await api.post("/events", json=starts_in("LT", 4, timedelta(days=3)))

    assert "LT" not in await starts(api, 48)
    assert (await starts(api, 24 * 7))["LT"] == 4
    assert (await starts(api, 8760))["LT"] == 4


async def test_end_events_are_not_starts(api: httpx.AsyncClient) -> None:
    before = await starts(api, 1)

    await api.post("/events", json=[end(new_player(), uuid.uuid4(), now())])

    assert await starts(api, 1) == before


@pytest.mark.parametrize("hours", ["0", "8761", "-1", "1.5", "x", ""])
async def test_the_window_must_be_1_to_8760_hours(api: httpx.AsyncClient, hours: str) -> None:
    response = await api.get("/session-starts", params={"hours": hours})

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "hours"


async def test_graphql_answers_the_same_counts(api: httpx.AsyncClient) -> None:
    await api.post("/events", json=starts_in("IS", 2, timedelta(minutes=1)))

    response = await api.post(
        "/graphql", json={"query": "{ sessionStartsByCountry(hours: 1) { country sessionStarts } }"}
    )

    rows = response.json()["data"]["sessionStartsByCountry"]
    assert {"country": "IS", "sessionStarts": 2} in rows
    assert {r["country"]: r["sessionStarts"] for r in rows} == await starts(api, 1)


async def test_graphql_rejects_a_bad_window(api: httpx.AsyncClient) -> None:
    response = await api.post("/graphql", json={"query": "{ sessionStartsByCountry(hours: 0) { country } }"})

    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_player_stats_sum_the_complete_sessions(api: httpx.AsyncClient) -> None:
    at = now()
    player = new_player()
    for minutes, ago in ((10, 5), (20, 3), (30, 1)):
        _, pair = session_pair(player, at - timedelta(hours=ago), minutes=minutes)
        await api.post("/events", json=pair)
    await api.post("/events", json=[start(player, uuid.uuid4(), now())])  # incomplete: not counted

    rest = (await api.get(f"/players/{player}/stats")).json()
    graphql = (
        await api.post(
            "/graphql",
            json={"query": STATS_QUERY % player},
        )
    ).json()["data"]["player"]["stats"]

    last_end = (at - timedelta(hours=1) + timedelta(minutes=30)).isoformat(timespec="milliseconds")
    assert rest == {
        "player_id": player,
        "completed_sessions": 3,
        "total_seconds": 3600.0,
        "average_seconds": 1200.0,
        "last_session_end": last_end,
        "truncated": False,
    }
    assert graphql["completedSessions"] == 3 and graphql["totalSeconds"] == 3600.0
    assert graphql["averageSeconds"] == 1200.0


async def test_an_unknown_player_has_empty_stats(api: httpx.AsyncClient) -> None:
    rest = (await api.get(f"/players/{new_player()}/stats")).json()

    assert rest["completed_sessions"] == 0 and rest["average_seconds"] is None and rest["last_session_end"] is None


async def series(api: httpx.AsyncClient, hours: int, step: str, **params: str) -> dict[str, Any]:
    response = await api.get("/session-starts/series", params={"hours": hours, "step": step, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sums(points: list[dict[str, Any]]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for point in points:
        totals[point["country"]] += point["session_starts"]
    return dict(totals)


@pytest.mark.parametrize(("hours", "step"), [(3, "hour"), (30, "hour"), (30, "day"), (24 * 9, "day"), (1000, "hour")])
async def test_a_series_sums_to_the_per_country_counts_of_the_same_window(
    api: httpx.AsyncClient, hours: int, step: str
) -> None:
    await api.post("/events", json=starts_in("YA", 2, timedelta(minutes=70)))
    await api.post("/events", json=starts_in("YB", 3, timedelta(hours=26)))
    await api.post("/events", json=starts_in("YA", 1, timedelta(days=8)))

    body = await series(api, hours, step)

    assert sums(body["series"]) == await starts(api, hours)
    assert body["hours"] == hours and body["step"] == step
    assert body["from"].endswith(":00.000+00:00") and body["to"].endswith(":00.000+00:00")


async def test_series_buckets_are_utc_aligned_ordered_and_never_empty(api: httpx.AsyncClient) -> None:
    at = now() - timedelta(hours=5)
    await api.post("/events", json=[start(new_player(), uuid.uuid4(), at, c) for c in ("ZB", "ZA", "ZA")])

    hourly = (await series(api, 24, "hour"))["series"]
    daily = (await series(api, 24 * 7, "day"))["series"]

    hour = at.replace(minute=0, second=0).isoformat(timespec="milliseconds")
    assert {"bucket_start": hour, "country": "ZA", "session_starts": 2} in hourly
    assert {"bucket_start": hour, "country": "ZB", "session_starts": 1} in hourly
    assert [(p["bucket_start"], p["country"]) for p in hourly] == sorted(
        (p["bucket_start"], p["country"]) for p in hourly
    )
    assert all(p["session_starts"] > 0 for p in hourly + daily)
    assert all(p["bucket_start"].endswith("T00:00:00.000+00:00") for p in daily)
    assert len({p["bucket_start"] for p in hourly}) <= 25


async def test_a_series_can_be_of_one_country(api: httpx.AsyncClient) -> None:
    await api.post("/events", json=starts_in("XQ", 2, timedelta(minutes=3)) + starts_in("XR", 1, timedelta(minutes=3)))

    body = await series(api, 1, "hour", country="xq")

    assert {p["country"] for p in body["series"]} == {"XQ"}
    assert sums(body["series"]) == {"XQ": 2}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"hours": "1001", "step": "hour"}, "hours"),
        ({"hours": "8761", "step": "day"}, "hours"),
        ({"hours": "0", "step": "day"}, "hours"),
        ({"hours": "24", "step": "week"}, "step"),
        ({"hours": "24"}, "step"),
        ({"hours": "24", "step": "hour", "country": "FIN"}, "country"),
    ],
)
async def test_a_series_needs_a_valid_window_step_and_country(
    api: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await api.get("/session-starts/series", params=params)

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == field


async def test_graphql_answers_the_same_series(api: httpx.AsyncClient) -> None:
    await api.post("/events", json=starts_in("XS", 2, timedelta(minutes=2)))
    query = '{ sessionStartsSeries(hours: 2, step: HOUR, country: "XS") { bucketStart country sessionStarts } }'

    response = await api.post("/graphql", json={"query": query})
    too_long = await api.post(
        "/graphql", json={"query": "{ sessionStartsSeries(hours: 1001, step: HOUR) { country } }"}
    )

    rows = response.json()["data"]["sessionStartsSeries"]
    rest = (await series(api, 2, "hour", country="XS"))["series"]
    assert [(r["country"], r["sessionStarts"]) for r in rows] == [(p["country"], p["session_starts"]) for p in rest]
    assert sum(r["sessionStarts"] for r in rows) == 2
    assert too_long.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
