"""Property: whatever the order and repetition of deliveries, a session is listed
exactly when both halves arrived. Runs against the real node."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from graphql_service.app import create_app
from graphql_service.db import Database
from graphql_service.settings import Settings

from .conftest import serving
from .events import end, new_player, now, start

deliveries = st.lists(st.sampled_from(["start", "end"]), min_size=1, max_size=6)
batchings = st.lists(st.integers(min_value=1, max_value=3), min_size=6, max_size=6)


@hypothesis_settings(max_examples=25, deadline=None)
@given(order=deliveries, sizes=batchings)
def test_sessions_complete_exactly_when_both_halves_arrived(
    settings: Settings, database: Database, order: list[str], sizes: list[int]
) -> None:
    player = new_player("prop")
    session = uuid.uuid4()
    begun = now() - timedelta(hours=1)
    events = {"start": start(player, session, begun), "end": end(player, session, begun + timedelta(minutes=1))}
    sequence = [events[kind] for kind in order]

    async def scenario() -> list[dict[str, object]]:
        async with serving(create_app(settings, database=database)) as client:
            position = 0
            for size in sizes:
                batch = sequence[position : position + size]
                if batch:
                    assert (await client.post("/events", json=batch)).status_code == 200
                position += size
            if position < len(sequence):
                await client.post("/events", json=sequence[position:])
            listed: list[dict[str, object]] = (await client.get("/sessions", params={"player_id": player})).json()[
                "sessions"
            ]
            return listed

    listed = asyncio.run(scenario())

    if {"start", "end"} <= set(order):
        assert [s["session_id"] for s in listed] == [str(session)]
    else:
        assert listed == []
