"""Notes of accepted searches, written to the store in batches off the request path.

The queued row only lets the status route know a search before the sink does; the
sink creates the row itself if a note is lost. So a 202 never waits for this write,
and many notes share one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from jobsearch.errors import StoreError
from jobsearch.logs import log_fields
from jobsearch.message import SearchMessage
from jobsearch.store import Store

logger = logging.getLogger("jobsearch.producer.queued")

BATCH_SECONDS = 0.01
MAX_BATCH = 500
MAX_PENDING = 10_000


class QueuedNotes:
    """Collects accepted searches and writes them a batch at a time."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: asyncio.Queue[tuple[SearchMessage, uuid.UUID]] = asyncio.Queue(
            MAX_PENDING
        )
        self._writer: asyncio.Task[None] | None = None
        self._unwritten: set[uuid.UUID] = set()
        self._held: list[tuple[SearchMessage, uuid.UUID]] = []
        self._lock = asyncio.Lock()

    def start(self) -> None:
        """Start the background writer."""
        self._writer = asyncio.create_task(self._write_forever())

    def note(self, message: SearchMessage, user_id: uuid.UUID) -> None:
        """Queue a note; a full queue drops it rather than make a request wait."""
        try:
            self._pending.put_nowait((message, user_id))
        except asyncio.QueueFull:
            search_id = str(message.search_id)
            logger.warning("queued note dropped", extra=log_fields(search_id=search_id))
            return
        self._unwritten.add(message.search_id)

    def holds(self, search_id: uuid.UUID) -> bool:
        """True while the note of `search_id` waits for its batch."""
        return search_id in self._unwritten

    async def flush(self) -> None:
        """Write every pending note now."""
        await self._flush()

    async def close(self) -> None:
        """Write what is pending, then stop."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self._flush()

    async def _write_forever(self) -> None:
        while True:
            self._held.append(await self._pending.get())
            # Locked while the batch gathers, so `flush` waits for this note too.
            async with self._lock:
                await asyncio.sleep(BATCH_SECONDS)
                await self._write(self._drain())

    async def _flush(self) -> None:
        async with self._lock:
            batch = self._drain()
            if batch:
                await self._write(batch)

    def _drain(self) -> list[tuple[SearchMessage, uuid.UUID]]:
        batch, self._held = self._held, []
        while len(batch) < MAX_BATCH and not self._pending.empty():
            batch.append(self._pending.get_nowait())
        return batch

    async def _write(self, batch: list[tuple[SearchMessage, uuid.UUID]]) -> None:
        try:
            await self._store.record_queued_many(batch)
        except StoreError:
            # The sink writes the row when it takes the search; only the status
            # route's early answer is lost.
            logger.warning("queued notes lost", extra=log_fields(count=len(batch)))
        finally:
            self._unwritten.difference_update(message.search_id for message, _ in batch)
