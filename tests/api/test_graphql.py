"""The GraphQL API: submitEvents and player.sessions, with the same rules as REST."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from graphql_service.settings import Settings

from ..events import new_player, now, session_pair

pytestmark = pytest.mark.anyio

SUBMIT = """
mutation Submit($events: [EventInput!]!) {
  submitEvents(events: $events) { accepted expired }
}
"""

SESSIONS = """
query Sessions($id: ID!, $last: Int) {
  player(id: $id) {
    id
    sessions(last: $last) { sessionId playerId country startTs endTs durationSeconds }
  }
}
"""


def as_input(event: dict[str, Any]) -> dict[str, Any]:
    converted = {
        "event": event["event"].upper(),
        "playerId": event["player_id"],
        "sessionId": event["session_id"],
        "ts": event["ts"],
    }
    if "country" in event:
        converted["country"] = event["country"]
    return converted


async def graphql(client: httpx.AsyncClient, query: str, **variables: object) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_submitted_events_come_back_as_a_session(client: httpx.AsyncClient) -> None:
    player = new_player()
    begun = now() - timedelta(hours=1)
    session, pair = session_pair(player, begun, minutes=20, country="de")

    submitted = await graphql(client, SUBMIT, events=[as_input(e) for e in pair])
    found = await graphql(client, SESSIONS, id=player)

    assert submitted == {"data": {"submitEvents": {"accepted": 2, "expired": 0}}}
    assert found["data"]["player"] == {
        "id": player,
        "sessions": [
            {
                "sessionId": str(session),
                "playerId": player,
                "country": "DE",
                "startTs": begun.isoformat(timespec="milliseconds"),
                "endTs": (begun + timedelta(minutes=20)).isoformat(timespec="milliseconds"),
                "durationSeconds": 1200.0,
            }
        ],
    }


async def test_rest_and_graphql_see_the_same_sessions(client: httpx.AsyncClient) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))
    await client.post("/events", json=pair)

    found = await graphql(client, SESSIONS, id=player, last=5)
    rest = (await client.get("/sessions", params={"player_id": player, "limit": 5})).json()["sessions"]

    assert len(rest) == 1
    assert [
        {
            "session_id": s["sessionId"],
            "player_id": s["playerId"],
            "country": s["country"],
            "start_ts": s["startTs"],
            "end_ts": s["endTs"],
            "duration_seconds": s["durationSeconds"],
        }
        for s in found["data"]["player"]["sessions"]
    ] == rest


async def test_an_invalid_batch_names_each_problem_and_stores_nothing(client: httpx.AsyncClient) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))
    events = [as_input(e) for e in pair]
    events[0]["country"] = "Finland"
    events[1]["playerId"] = ""

    result = await graphql(client, SUBMIT, events=events)

    [error] = result["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert {(d["index"], d["field"]) for d in error["extensions"]["details"]} == {(0, "country"), (1, "playerId")}
    assert "events[0].country" in error["message"] and "events[1].playerId" in error["message"]
    assert (await graphql(client, SESSIONS, id=player))["data"]["player"]["sessions"] == []


async def test_a_malformed_uuid_is_a_graphql_error_not_a_crash(client: httpx.AsyncClient) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(hours=1))
    events = [as_input(e) for e in pair]
    events[0]["sessionId"] = "not-a-uuid"

    result = await graphql(client, SUBMIT, events=events)

    assert result["data"] is None
    assert "sessionId" in result["errors"][0]["message"] or "UUID" in result["errors"][0]["message"]


async def test_old_events_are_counted_as_expired(client: httpx.AsyncClient) -> None:
    player = new_player()
    _, pair = session_pair(player, now() - timedelta(days=400))

    result = await graphql(client, SUBMIT, events=[as_input(e) for e in pair])

    assert result["data"]["submitEvents"] == {"accepted": 0, "expired": 2}


@pytest.mark.parametrize("last", [0, 101])
async def test_last_is_bounded(client: httpx.AsyncClient, last: int) -> None:
    result = await graphql(client, SESSIONS, id=new_player(), last=last)

    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_aliases_fan_out_and_read_each_player_once(client: httpx.AsyncClient, statements: list[str]) -> None:
    players = [new_player() for _ in range(4)]
    for i, player in enumerate(players):
        for j in range(i + 1):
            _, pair = session_pair(player, now() - timedelta(hours=10 - j))
            await client.post("/events", json=pair)
    fields = "\n".join(
        f'p{i}: player(id: "{p}") {{ id sessions(last: 3) {{ sessionId }} }}\n'
        f'q{i}: player(id: "{p}") {{ id sessions(last: 1) {{ sessionId }} }}'
        for i, p in enumerate(players)
    )
    statements.clear()

    result = await graphql(client, f"{{ {fields} }}")

    data = result["data"]
    assert [len(data[f"p{i}"]["sessions"]) for i in range(4)] == [1, 2, 3, 3]
    assert [len(data[f"q{i}"]["sessions"]) for i in range(4)] == [1, 1, 1, 1]
    # The first read after play: per player one slice of the end index and one read of the
    # sessions it names, whatever the aliases ask, and nothing written.
    assert sorted(statements) == sorted(["recent_ends", "session_halves"] * len(players))


async def test_too_many_aliases_are_refused_before_any_read(client: httpx.AsyncClient, statements: list[str]) -> None:
    fields = " ".join(f'a{i}: player(id: "p{i}") {{ sessions {{ sessionId }} }}' for i in range(50))
    statements.clear()

    result = await graphql(client, f"{{ {fields} }}")

    assert result["errors"]
    assert "aliases" in result["errors"][0]["message"].lower()
    assert statements == []


async def test_an_empty_player_id_is_bad_input(client: httpx.AsyncClient) -> None:
    result = await graphql(client, SESSIONS, id="")

    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_graphiql_is_served_to_browsers(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_unknown_players_have_no_sessions(client: httpx.AsyncClient) -> None:
    result = await graphql(client, SESSIONS, id=str(uuid.uuid4()))

    assert result["data"]["player"]["sessions"] == []


async def test_an_oversized_graphql_request_gets_413(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }", "pad": "x" * settings.max_body_bytes})

    assert response.status_code == 413


async def test_an_oversized_chunked_graphql_request_gets_413(client: httpx.AsyncClient, settings: Settings) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"query": "{ __typename }", "pad": "'
        for _ in range(settings.max_body_bytes // 1000 + 2):
            yield b"x" * 1000
        yield b'"}'

    response = await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})

    assert response.status_code == 413


async def test_a_small_chunked_graphql_request_is_served(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"query": "{ __typename }"}'

    response = await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})

    assert response.json() == {"data": {"__typename": "Query"}}


async def test_stats_of_aliased_players_read_each_player_once(client: httpx.AsyncClient, statements: list[str]) -> None:
    players = [new_player() for _ in range(3)]
    fields = " ".join(
        f'a{i}: player(id: "{p}") {{ stats {{ completedSessions }} }} '
        f'b{i}: player(id: "{p}") {{ stats {{ totalSeconds }} }}'
        for i, p in enumerate(players)
    )
    statements.clear()

    result = await graphql(client, f"{{ {fields} }}")

    assert result["data"]["a0"]["stats"] == {"completedSessions": 0}
    assert statements.count("player_sessions") == len(players)
