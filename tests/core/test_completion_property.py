"""Property: whatever the order and repetition of deliveries, and whenever the player is
read in between, a session is listed exactly when both
halves arrived. Runs against the real node."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from graphql_service.app import create_app
from graphql_service.settings import Settings
from graphql_service.store.backends import Backend as Database

from ..events import end, new_player, now, start
from ..servers import serving

pytestmark = pytest.mark.anyio

deliveries = st.lists(st.sampled_from(["start", "end"]), min_size=1, max_size=6)
batchings = st.lists(st.integers(min_value=1, max_value=3), min_size=6, max_size=6)
# Whether the player's sessions are read after each batch.
reads = st.lists(st.booleans(), min_size=6, max_size=6)


@hypothesis_settings(max_examples=25, deadline=None)
@given(order=deliveries, sizes=batchings, read_after=reads)
async def test_sessions_complete_exactly_when_both_halves_arrived(
    settings: Settings, database: Database, order: list[str], sizes: list[int], read_after: list[bool]
) -> None:
    player = new_player("prop")
    session = uuid.uuid4()
    begun = now() - timedelta(hours=1)
    events = {"start": start(player, session, begun), "end": end(player, session, begun + timedelta(minutes=1))}
    sequence = [events[kind] for kind in order]

    async with serving(create_app(settings, database=database)) as client:

        async def listed_ids() -> list[object]:
            response = await client.get("/sessions", params={"player_id": player})
            assert response.status_code == 200
            return [s["session_id"] for s in response.json()["sessions"]]

        position = 0
        for size, read in zip(sizes, read_after, strict=True):
            batch = sequence[position : position + size]
            if batch:
                assert (await client.post("/events", json=batch)).status_code == 200
            position += size
            if read:
                arrived = set(order[: min(position, len(order))])
                assert await listed_ids() == ([str(session)] if {"start", "end"} <= arrived else [])
        if position < len(sequence):
            assert (await client.post("/events", json=sequence[position:])).status_code == 200

        listed = await listed_ids()

    if {"start", "end"} <= set(order):
        assert listed == [str(session)]
    else:
        assert listed == []
