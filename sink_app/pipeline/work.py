"""Running several pieces of paid work together without losing any of them.

`settle` lets siblings finish when one fails, `persist` saves finished work through
store faults and cancellation; the runner uses both so a deadline or a failing page
never throws away a fetch or a model answer it has already paid for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

import stamina

from jobsearch.errors import JobSearchError, StoreError
from jobsearch.logs import log_fields

logger = logging.getLogger("jobsearch.sink.work")

T = TypeVar("T")


async def settle(work: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run every task to its end, then raise the first project error one met.

    A sibling's failure does not cancel the others: their paid calls finish and are
    saved instead of being thrown away and paid for again on the next delivery.
    """
    errors: list[JobSearchError] = []

    async def settled(task: Coroutine[Any, Any, None]) -> None:
        try:
            await task
        except JobSearchError as exc:
            errors.append(exc)

    try:
        async with asyncio.TaskGroup() as group:
            for task in work:
                group.create_task(settled(task))
    except BaseExceptionGroup as group:
        raise _first_error(group) from None
    if errors:
        raise errors[0]


async def persist(
    write: Callable[..., Awaitable[None]], *args: Any, **kwargs: Any
) -> None:
    """Save paid-for work: retried on a store fault, finished even if cancelled."""

    async def attempt() -> None:
        async for retry in stamina.retry_context(
            on=StoreError, attempts=3, timeout=3.0, wait_initial=0.05, wait_max=0.5
        ):
            with retry:
                await write(*args, **kwargs)

    await shielded(attempt())


async def shielded(work: Coroutine[Any, Any, T]) -> T:
    """Await `work`, which goes on to its end even if the caller is cancelled."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(_log_orphan_failure)
    return await asyncio.shield(task)


def _log_orphan_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning(
            "saving finished work failed",
            extra=log_fields(error=type(task.exception()).__name__),
        )


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf of a task group's errors, so callers catch it by type."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
