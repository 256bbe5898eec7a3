"""Offset commits written in groups, behind the deliveries that justify them.

A task hands over each outcome (a 2xx, an error-topic report, a DLQ record) and moves
on to its next record; one writer puts everything handed over so far in a single
transaction. Commits stay in hand-over order, so a partition's committed offset never
passes a record that has no outcome yet; a crash loses only commits not yet written,
and those records are delivered again (at least once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from jobsearch.emulator.log import EventLog, NewRecord, Record, Settled
from jobsearch.errors import StoreError

MAX_PENDING = 1024
LINGER_SECONDS = 0.005


class Committer:
    """Group commit for one consumer group; `close()` writes whatever is pending."""

    def __init__(
        self, log: EventLog, group: str, *, max_pending: int = MAX_PENDING
    ) -> None:
        self.log = log
        self.group = group
        self.max_pending = max_pending
        self._pending: list[Settled] = []
        self._wakeup = asyncio.Event()
        self._written = asyncio.Event()
        self._closing = False
        self._failure: StoreError | None = None
        self._writer: asyncio.Task[None] | None = None

    @property
    def failure(self) -> StoreError | None:
        """The failed write that stopped this committer, until it is reopened."""
        return self._failure

    async def commit(
        self, source: Record, reports: Sequence[tuple[str, NewRecord]]
    ) -> None:
        """Queue an outcome; waits only while `max_pending` are unwritten.

        Raises `StoreError` once a write has failed: nothing after it is committed.
        """
        writer = self._start()
        while len(self._pending) >= self.max_pending and not writer.done():
            self._written.clear()
            await self._written.wait()
        if writer.done():
            raise self._failure or StoreError("emulator commits are closed")
        self._pending.append((source, reports))
        self._wakeup.set()

    async def close(self) -> None:
        """Write what is pending and stop the writer; a later commit starts anew."""
        if self._writer is None:
            return
        self._closing = True
        self._wakeup.set()
        await self._writer
        self._writer = None

    def _start(self) -> asyncio.Task[None]:
        if self._writer is None:
            self._closing, self._failure = False, None
            self._writer = asyncio.create_task(self._write_until_closed())
        return self._writer

    async def _write_until_closed(self) -> None:
        try:
            while self._pending or not self._closing:
                await self._wakeup.wait()
                if not self._closing:
                    # Each write costs a thread hop and a transaction whatever its
                    # size, so let a few more outcomes join it.
                    await asyncio.sleep(LINGER_SECONDS)
                self._wakeup.clear()
                batch, self._pending = self._pending, []
                if batch:
                    await asyncio.to_thread(self.log.commit_many, self.group, batch)
                self._written.set()
        except StoreError as exc:
            # Whatever was queued behind the failed write is delivered again.
            self._failure, self._pending = exc, []
        finally:
            self._written.set()
