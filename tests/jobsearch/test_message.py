"""The message contract: version 1 and the Edge Function's legacy records."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from jobsearch.errors import InvalidMessageError
from jobsearch.message import parse_message

V1 = {
    "version": 1,
    "search_id": "5b8a3c1e-0f6b-4b6e-9d0e-1f2a3b4c5d6e",
    "user_id": None,
    "query": "python developer",
    "location": "Berlin",
    "remote": None,
    "limit": 10,
    "urls": ["https://jobs.example.test/1"],
    "tbs": "qdr:m",
    "requested_at": "2026-12-04T10:00:00.000Z",
    "trace_id": "abc123",
}
LEGACY = {
    "userId": "8a3c1f1e-6f0b-4b6e-9d0e-1f2a3b4c5d6e",
    "searchQuery": "designer",
    "location": "Remote",
    "limit": 50,
    "tbs": "qdr:m",
    "timestamp": "2025-06-01T12:00:00.000Z",
}


def test_parse_v1_round_trips() -> None:
    """A version 1 value parses and dumps back to the same JSON."""
    message = parse_message(V1)

    assert message.to_record_value() == V1


def test_parse_legacy_record_gets_deterministic_search_id() -> None:
    """The same legacy record always maps to the same search id."""
    first = parse_message(dict(LEGACY))
    again = parse_message(dict(LEGACY))
    other = parse_message({**LEGACY, "timestamp": "2025-06-01T12:00:01.000Z"})

    assert first.search_id == again.search_id
    assert first.search_id != other.search_id
    assert first.user_id == uuid.UUID(LEGACY["userId"])
    assert first.query == "designer"
    assert first.version == 1


@pytest.mark.parametrize(
    ("data", "status", "needle"),
    [
        ([], 400, "object"),
        ({**V1, "version": 2}, 422, "version"),
        ({k: v for k, v in V1.items() if k != "version"}, 422, "version"),
        ({**V1, "search_id": "nope"}, 422, "search_id"),
        ({**V1, "query": ""}, 422, "query"),
        ({**V1, "extra": 1}, 422, "extra"),
        ({**V1, "requested_at": "2026-12-04T10:00:00"}, 422, "requested_at"),
        ({**LEGACY, "userId": "x"}, 422, "userId"),
        ({k: v for k, v in LEGACY.items() if k != "timestamp"}, 422, "timestamp"),
    ],
    ids=[
        "array",
        "v2",
        "no-version",
        "bad-uuid",
        "empty-query",
        "unknown-field",
        "naive-time",
        "legacy-bad-user",
        "legacy-no-time",
    ],
)
def test_parse_invalid_message_names_the_field(
    data: Any, status: int, needle: str
) -> None:
    """Each invalid message raises with the field named and no value echoed."""
    with pytest.raises(InvalidMessageError) as caught:
        parse_message(data)

    assert caught.value.status == status
    assert needle in caught.value.message
