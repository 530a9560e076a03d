"""Start and end of one session arriving at the same moment at two API processes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store import backends
from graphql_service.store.backends import Backend as Database

from ..events import new_player, now, session_pair
from ..servers import serving

pytestmark = pytest.mark.anyio


async def test_forty_sessions_raced_across_two_processes_all_complete(settings: Settings, database: Database) -> None:
    # A second backend is a second connection to the cluster, as a second API process would
    # have: no state is shared between the two apps except Cassandra itself.
    other = await backends.connect(settings)
    try:
        async with (
            serving(create_app(settings, database=database)) as one,
            serving(create_app(settings, database=other)) as two,
        ):
            player = new_player("racer")
            base = now() - timedelta(days=1)
            pairs = [session_pair(player, base + timedelta(minutes=3 * i), minutes=2)[1] for i in range(40)]

            responses = await asyncio.gather(
                *(one.post("/events", json=[start]) for start, _ in pairs),
                *(two.post("/events", json=[end]) for _, end in pairs),
            )

            assert {r.status_code for r in responses} == {200}
            # The first read, on either process, finds every session whole.
            listed = (await one.get("/sessions", params={"player_id": player, "limit": 100})).json()["sessions"]
            assert sorted(s["session_id"] for s in listed) == sorted(p[0]["session_id"] for p in pairs)
            again = (await two.get("/sessions", params={"player_id": player, "limit": 100})).json()["sessions"]
            assert again == listed
    finally:
        await other.close()


async def test_duplicates_racing_each_other_leave_one_session(settings: Settings, database: Database) -> None:
    async with serving(create_app(settings, database=database)) as client:
        player = new_player()
        _, pair = session_pair(player, now() - timedelta(hours=2))

        await asyncio.gather(*(client.post("/events", json=[event]) for event in pair * 5))

        listed = (await client.get("/sessions", params={"player_id": player})).json()["sessions"]
        assert len(listed) == 1
