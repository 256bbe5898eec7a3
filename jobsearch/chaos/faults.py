"""Fault choices and the faulty store the sink instances write through.

Every injector rolls its own `Dice`, so one seed reproduces the same mix of faults
(their timing still depends on the scheduler). Switching the dice off ends the fault
phase everywhere at once.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Literal, TypeVar

import sink_app.main
from jobsearch.errors import StoreError
from jobsearch.message import SearchMessage
from jobsearch.posting import Posting
from jobsearch.settings import Settings
from jobsearch.store import Claim, PageProgress, SearchSummary, Store

T = TypeVar("T")


class Dice:
    """Picks at most one named fault per roll, with the given probabilities."""

    def __init__(self, weights: Mapping[str, float], *, seed: int) -> None:
        if sum(weights.values()) > 1:
            raise ValueError("fault probabilities add up to more than 1")
        self.weights = dict(weights)
        self.enabled = True
        self.counts: Counter[str] = Counter()
        self.rng = random.Random(seed)  # noqa: S311 - fault choices, not secrets

    def roll(self) -> str | None:
        """A fault name, or None for a clean call (always None once disabled)."""
        if not self.enabled:
            return None
        point = self.rng.random()
        for name, weight in self.weights.items():
            point -= weight
            if point < 0:
                self.counts[name] += 1
                return name
        return None


class FaultyStore:
    """A `Store` whose writes and reads fail now and then, before or after the call.

    `fail_after` means the call took effect and only its answer was lost, as when a
    database commits and the connection drops before the reply arrives.
    """

    def __init__(self, inner: Store, dice: Dice) -> None:
        self._inner = inner
        self._dice = dice

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        fault = self._dice.roll()
        if fault == "fail_before":
            raise StoreError("injected store fault before the call")
        result = await call()
        if fault == "fail_after":
            raise StoreError("injected store fault after the call")
        return result

    async def open(self) -> None:
        """Open the real store."""
        await self._inner.open()

    async def close(self) -> None:
        """Close the real store."""
        await self._inner.close()

    async def ping(self) -> None:
        """Ping the real store."""
        await self._inner.ping()

    async def record_queued(self, message: SearchMessage, user_id: uuid.UUID) -> None:
        """Note a queued search, perhaps failing."""
        await self._call(lambda: self._inner.record_queued(message, user_id))

    async def record_queued_many(
        self, searches: Sequence[tuple[SearchMessage, uuid.UUID]]
    ) -> None:
        """Note queued searches, perhaps failing."""
        await self._call(lambda: self._inner.record_queued_many(searches))

    async def claim(
        self,
        message: SearchMessage,
        user_id: uuid.UUID,
        owner: str,
        lease_seconds: float,
    ) -> Claim:
        """Take the lease, perhaps failing."""
        return await self._call(
            lambda: self._inner.claim(message, user_id, owner, lease_seconds)
        )

    async def release(self, search_id: uuid.UUID, owner: str) -> None:
        """Give the lease back, perhaps failing."""
        await self._call(lambda: self._inner.release(search_id, owner))

    async def pages(self, search_id: uuid.UUID) -> dict[str, PageProgress]:
        """Read page progress, perhaps failing."""
        return await self._call(lambda: self._inner.pages(search_id))

    async def save_page(self, search_id: uuid.UUID, progress: PageProgress) -> None:
        """Save page progress, perhaps failing."""
        await self._call(lambda: self._inner.save_page(search_id, progress))

    async def stored_source_ids(self, search_id: uuid.UUID) -> set[str]:
        """Read stored source ids, perhaps failing."""
        return await self._call(lambda: self._inner.stored_source_ids(search_id))

    async def upsert_job(
        self,
        posting: Posting,
        *,
        user_id: uuid.UUID,
        search_id: uuid.UUID,
        trace_id: str | None,
    ) -> None:
        """Upsert a job row, perhaps failing."""
        await self._call(
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
        """Finish the search, perhaps failing."""
        await self._call(
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
        """Read the summary, perhaps failing."""
        return await self._call(
            lambda: self._inner.summary(search_id, with_jobs=with_jobs)
        )


@contextlib.contextmanager
def faulty_sink_store(dice: Dice) -> Iterator[None]:
    """While the block runs, every sink app started opens its store through faults.

    `sink_app.main.create_app` has no store parameter, so the name its lifespan calls
    is swapped for the duration of the run and restored afterwards.
    """
    original = sink_app.main.open_store  # type: ignore[attr-defined]

    def open_faulty(settings: Settings) -> Store:
        return FaultyStore(original(settings), dice)

    sink_app.main.open_store = open_faulty  # type: ignore[attr-defined]
    try:
        yield
    finally:
        sink_app.main.open_store = original  # type: ignore[attr-defined]
