"""Notes of accepted searches, written to the store by group commit.

The 202 waits for its search's "queued" row, so the status route knows the search on
any worker or replica the moment the frontend asks. Requests that arrive while a
write is in progress share the next transaction instead of paying for their own.
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

MAX_BATCH = 500
WRITE_SECONDS = 2.0

Note = tuple[SearchMessage, uuid.UUID, "asyncio.Future[None]"]


class QueuedNotes:
    """Writes queued rows, many requests to one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: asyncio.Queue[Note] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background writer."""
        self._writer = asyncio.create_task(self._write_forever())

    async def note(self, message: SearchMessage, user_id: uuid.UUID) -> None:
        """Record the search as queued; a store fault is logged, never raised.

        The record is already in Kafka, and the sink creates the row if this fails.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.put_nowait((message, user_id, done))
        try:
            async with asyncio.timeout(WRITE_SECONDS):
                await asyncio.shield(done)
        except (StoreError, TimeoutError):
            logger.warning(
                "queued note not written",
                extra=log_fields(search_id=str(message.search_id)),
            )

    async def close(self) -> None:
        """Write what is pending, then stop."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        while not self._pending.empty():
            await self._write(self._drain([]))

    async def _write_forever(self) -> None:
        while True:
            first = await self._pending.get()
            await self._write(self._drain([first]))

    def _drain(self, batch: list[Note]) -> list[Note]:
        while len(batch) < MAX_BATCH and not self._pending.empty():
            batch.append(self._pending.get_nowait())
        return batch

    async def _write(self, batch: list[Note]) -> None:
        try:
            await self._store.record_queued_many(
                [(message, user_id) for message, user_id, _ in batch]
            )
        except StoreError as exc:
            for _, _, done in batch:
                if not done.done():
                    done.set_exception(exc)
                    done.exception()  # retrieved here; the waiter may have left
            return
        for _, _, done in batch:
            if not done.done():
                done.set_result(None)
