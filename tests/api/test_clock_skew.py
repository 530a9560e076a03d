"""`sent_at` (REST) / `sentAt` (GraphQL): a batch from a device whose clock is wrong lands
when it happened by the server's clock; and `POST /events` counts what it took on request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ..events import iso, new_player, now, session_pair, start

pytestmark = pytest.mark.anyio

SUBMIT = """
mutation ($events: [EventInput!]!, $sentAt: DateTime) {
  submitEvents(events: $events, sentAt: $sentAt) { accepted expired }
}
"""


def millis(ts: datetime) -> datetime:
    return ts.replace(microsecond=ts.microsecond // 1000 * 1000)


async def sessions_of(client: httpx.AsyncClient, player: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await client.get("/sessions", params={"player_id": player})).json()["sessions"]
    return found


async def test_a_device_clock_days_ahead_is_corrected_by_sent_at(client: httpx.AsyncClient) -> None:
    player = new_player()
    ahead = timedelta(days=3)
    before = datetime.now(UTC)
    _, pair = session_pair(player, before + ahead - timedelta(hours=1), minutes=20)

    refused = await client.post("/events", json={"rows": pair})
    taken = await client.post("/events", json={"rows": pair, "sent_at": iso(before + ahead)})
    after = datetime.now(UTC)

    assert refused.status_code == 400 and "more than 24 hours in the future" in refused.json()["error"]
    assert (taken.status_code, taken.text) == (200, "POST success")
    [session] = await sessions_of(client, player)
    # Moved by (receive time - sent_at): an hour before the moment the server took the batch.
    started = datetime.fromisoformat(session["start_ts"])
    assert millis(before) - timedelta(hours=1) <= started <= after - timedelta(hours=1)
    assert session["duration_seconds"] == 1200.0


async def test_local_time_without_an_offset_is_right_when_sent_at_is_local_too(client: httpx.AsyncClient) -> None:
    # C#'s DateTime.Now.ToString("s") on a device at UTC+05:00: every time five hours ahead.
    player = new_player()
    local = timedelta(hours=5)
    before = datetime.now(UTC)
    _, pair = session_pair(player, before + local - timedelta(hours=2), minutes=30)

    response = await client.post("/events", json={"events": pair, "sent_at": iso(before + local)})
    after = datetime.now(UTC)

    assert response.status_code == 200
    [session] = await sessions_of(client, player)
    ended = datetime.fromisoformat(session["end_ts"])
    assert millis(before) - timedelta(minutes=90) <= ended <= after - timedelta(minutes=90)


@pytest.mark.parametrize("sent_at", ["yesterday", "2026-02-30T00:00:00", 1764158400, ""])
async def test_a_bad_sent_at_is_a_400_naming_sent_at_and_stores_nothing(
    client: httpx.AsyncClient, sent_at: object
) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))

    response = await client.post("/events", json={"rows": pair, "sent_at": sent_at})

    assert response.status_code == 400
    assert response.json()["error"].startswith("sent_at ")
    assert [d["field"] for d in response.json()["details"]] == ["sent_at"]
    assert await sessions_of(client, player) == []


async def test_graphql_sent_at_corrects_the_clock_the_same_way(client: httpx.AsyncClient) -> None:
    player = new_player()
    behind = timedelta(days=-400)  # a device clock a year behind: its events would have expired
    before = datetime.now(UTC)
    session, pair = session_pair(player, before + behind - timedelta(hours=1), minutes=10)
    events = [
        {"event": e["event"].upper(), "playerId": player, "sessionId": str(session), "ts": e["ts"]}
        | ({"country": e["country"]} if "country" in e else {})
        for e in pair
    ]

    without = await client.post("/graphql", json={"query": SUBMIT, "variables": {"events": events}})
    corrected = await client.post(
        "/graphql", json={"query": SUBMIT, "variables": {"events": events, "sentAt": iso(before + behind)}}
    )
    after = datetime.now(UTC)

    assert without.json() == {"data": {"submitEvents": {"accepted": 0, "expired": 2}}}
    assert corrected.json() == {"data": {"submitEvents": {"accepted": 2, "expired": 0}}}
    [found] = await sessions_of(client, player)
    started = datetime.fromisoformat(found["start_ts"])
    assert millis(before) - timedelta(hours=1) <= started <= after - timedelta(hours=1)


@pytest.mark.parametrize("accept", ["application/json", "text/plain;q=0.5, application/json", "Application/JSON"])
async def test_post_events_counts_accepted_and_expired_when_asked_for_json(
    client: httpx.AsyncClient, accept: str
) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))
    old = start(player, uuid.uuid4(), now() - timedelta(days=400))

    response = await client.post("/events", json=[*pair, old], headers={"accept": accept})

    assert response.headers["content-type"] == "application/json"
    assert (response.status_code, response.json()) == (200, {"accepted": 2, "expired": 1})


@pytest.mark.parametrize("accept", [None, "*/*", "text/plain", "application/json;q=0"])
async def test_post_events_still_says_post_success_by_default(client: httpx.AsyncClient, accept: str | None) -> None:
    headers = {"accept": accept} if accept else {}
    _, pair = session_pair(new_player(), now() - timedelta(hours=1))

    response = await client.post("/events", json=pair, headers=headers)

    assert (response.status_code, response.text) == (200, "POST success")
    assert response.headers["content-type"].startswith("text/plain")
