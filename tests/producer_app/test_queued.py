"""Queued notes: batched off the request path, never lost on shutdown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from jobsearch.message import SearchMessage
from jobsearch.store import SQLiteStore
from producer_app.queued import QueuedNotes

USER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def message() -> SearchMessage:
    return SearchMessage(
        search_id=uuid.uuid4(),
        query="x",
        requested_at=datetime(2026, 12, 4, tzinfo=UTC),
        trace_id="t",
    )


async def test_notes_are_written_in_one_batch_and_on_close(make_settings: Any) -> None:
    """Notes taken before close are all written; `holds` says which still wait."""
    store = SQLiteStore(make_settings().sqlite_path)
    await store.open()
    notes = QueuedNotes(store)
    notes.start()
    searches = [message() for _ in range(50)]

    for search in searches:
        notes.note(search, USER)
    waiting = notes.holds(searches[0].search_id)
    await notes.close()

    assert waiting is True
    assert not notes.holds(searches[0].search_id)
    for search in searches:
        summary = await store.summary(search.search_id, with_jobs=False)
        assert summary is not None
        assert summary.status == "queued"
    await store.close()
