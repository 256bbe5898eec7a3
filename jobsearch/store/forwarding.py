"""A `Store` that hands every call to another store, for wrappers to build on.

The chaos run's faulty store and the benchmark's slow store differ only in what
happens around a read or a write, so they override `_read` and `_write` alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, TypeVar

from jobsearch.message import SearchMessage
from jobsearch.posting import Posting
from jobsearch.store.base import Claim, PageProgress, SearchSummary, Store

T = TypeVar("T")


class ForwardingStore:
    """Passes each data call to `inner` through `_read` or `_write`."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner

    async def _read(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run a read; subclasses wrap it."""
        return await call()

    async def _write(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run a write (a claim and a release are writes too); subclasses wrap it."""
        return await call()

    async def open(self) -> None:
        """Open the inner store."""
        await self._inner.open()

    async def close(self) -> None:
        """Close the inner store."""
        await self._inner.close()

    async def ping(self) -> None:
        """Ping the inner store."""
        await self._inner.ping()

    async def record_queued(self, message: SearchMessage, user_id: uuid.UUID) -> None:
        """Note a queued search."""
        await self._write(lambda: self._inner.record_queued(message, user_id))

    async def record_queued_many(
        self, searches: Sequence[tuple[SearchMessage, uuid.UUID]]
    ) -> None:
        """Note queued searches."""
        await self._write(lambda: self._inner.record_queued_many(searches))

    async def claim(
        self,
        message: SearchMessage,
        user_id: uuid.UUID,
        owner: str,
        lease_seconds: float,
    ) -> Claim:
        """Take the lease."""
        return await self._write(
            lambda: self._inner.claim(message, user_id, owner, lease_seconds)
        )

    async def release(self, search_id: uuid.UUID, owner: str) -> None:
        """Give the lease back."""
        await self._write(lambda: self._inner.release(search_id, owner))

    async def pages(self, search_id: uuid.UUID) -> dict[str, PageProgress]:
        """Read page progress."""
        return await self._read(lambda: self._inner.pages(search_id))

    async def save_page(self, search_id: uuid.UUID, progress: PageProgress) -> None:
        """Save page progress."""
        await self._write(lambda: self._inner.save_page(search_id, progress))

    async def stored_source_ids(self, search_id: uuid.UUID) -> set[str]:
        """Read stored source ids."""
        return await self._read(lambda: self._inner.stored_source_ids(search_id))

    async def upsert_job(
        self,
        posting: Posting,
        *,
        user_id: uuid.UUID,
        search_id: uuid.UUID,
        trace_id: str | None,
    ) -> None:
        """Upsert a job row."""
        await self._write(
            lambda: self._inner.upsert_job(
                posting, user_id=user_id, search_id=search_id, trace_id=trace_id
            )
        )

    async def finish(
        self,
        search_id: uuid.UUID,
        owner: str,
        *,
        status: Literal["completed", "failed"],
        errors: list[dict[str, str]],
        failure_reason: str | None = None,
    ) -> None:
        """Finish the search."""
        await self._write(
            lambda: self._inner.finish(
                search_id,
                owner,
                status=status,
                errors=errors,
                failure_reason=failure_reason,
            )
        )

    async def summary(
        self, search_id: uuid.UUID, *, with_jobs: bool = True
    ) -> SearchSummary | None:
        """Read the summary."""
        return await self._read(
            lambda: self._inner.summary(search_id, with_jobs=with_jobs)
        )
