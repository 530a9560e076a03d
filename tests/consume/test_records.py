"""A record's envelope: one event or a batch, and why a record cannot be submitted at all."""

from __future__ import annotations

import pytest

from graphql_service.consume.records import BadRecord, Submission, decode


def test_a_record_of_one_event_is_a_batch_of_that_event() -> None:
    assert decode(b'{"event": "end", "player_id": "p"}') == Submission([{"event": "end", "player_id": "p"}])


def test_a_rows_record_is_the_batch_as_post_events_takes_it() -> None:
    body = b'{"rows": [{"event": "start"}, {"event": "end"}], "sent_at": "2026-12-02T10:00:00Z"}'
    assert decode(body) == Submission([{"event": "start"}, {"event": "end"}], "2026-12-02T10:00:00Z")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "no value"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe\xfa", "not"),
        (b"[1, 2]", "got list"),
        (b'"start"', "got str"),
        (b'{"rows": {"event": "start"}}', '"rows" must be a list'),
    ],
)
def test_a_record_that_is_no_json_object_names_why(value: bytes | None, reason: str) -> None:
    with pytest.raises(BadRecord, match=reason):
        decode(value)
