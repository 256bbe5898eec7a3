"""Queued notes: batched off the request path, never lost on shutdown."""

from __future__ import annotations

import asyncio
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


async def test_notes_written_before_each_returns_sharing_transactions(
    make_settings: Any,
) -> None:
    """Fifty concurrent notes are each stored when their call returns."""
    store = SQLiteStore(make_settings().sqlite_path)
    await store.open()
    notes = QueuedNotes(store)
    notes.start()
    searches = [message() for _ in range(50)]

    await asyncio.gather(*(notes.note(search, USER) for search in searches))
    await notes.close()

    for search in searches:
        summary = await store.summary(search.search_id, with_jobs=False)
        assert summary is not None
        assert summary.status == "queued"
    await store.close()
