"""Run one search to completion, exactly once in effect, under a deadline.

A delivery first takes the search's lease in the store. Progress is saved per page
(found, extracted, done or failed) and per posting (its job row), so a redelivery after
a deadline, a crash or a lost answer resumes where the last one stopped and never
repeats a finished fetch or enrichment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Literal

from jobsearch.errors import JobSearchError, StoreError, UpstreamError
from jobsearch.logs import log_fields
from jobsearch.message import SearchMessage
from jobsearch.metrics import Metrics
from jobsearch.posting import Posting
from jobsearch.settings import Settings
from jobsearch.store import PageProgress, Store
from jobsearch.store.base import PageState
from sink_app.pipeline.enrich import Enricher
from sink_app.pipeline.extract import extract_postings
from sink_app.pipeline.fetch import FetchError, PageReader
from sink_app.pipeline.source import NoProviderError, ProviderFailedError, Source
from sink_app.pipeline.work import persist, settle, shielded

logger = logging.getLogger("jobsearch.sink.runner")

OutcomeKind = Literal["completed", "failed", "retry"]
POLL_SECONDS = 0.2
# A page that fails transiently is tried again on this many deliveries, then given up.
MAX_PAGE_ATTEMPTS = 3


@dataclass(frozen=True)
class Outcome:
    """What the delivery achieved; `retry` means answer 503 and come back later."""

    kind: OutcomeKind
    search_id: uuid.UUID
    reason: str | None = None
    jobs_found: int = 0


class SearchRunner:
    """Carries one search from message to stored rows."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        source: Source,
        fetcher: PageReader,
        enricher: Enricher,
        *,
        metrics: Metrics | None = None,
        reader_name: str = "keyless",
    ) -> None:
        self._settings = settings
        self._metrics = metrics or Metrics()
        self._reader_name = reader_name
        self._store = store
        self._source = source
        self._fetcher = fetcher
        self._enricher = enricher
        self._local_user = uuid.UUID(settings.local_user_id)
        # Shared by every search in this process, so no single search can spend a
        # provider's whole rate limit.
        self._fetch_slots = asyncio.Semaphore(settings.sink_fetch_concurrency)
        self._enrich_slots = asyncio.Semaphore(settings.sink_enrich_concurrency)

    async def run(self, message: SearchMessage, *, deadline: float) -> Outcome:
        """Work on the search until it finishes or `deadline` (monotonic) passes."""
        owner = _delivery_owner()
        try:
            async with asyncio.timeout_at(_loop_time(deadline)):
                return await self._claim_and_work(message, owner)
        except TimeoutError:
            await self._release_quietly(message.search_id, owner)
            return Outcome("retry", message.search_id, "deadline_reached")
        except StoreError:
            logger.warning("store unavailable", exc_info=True)
            await self._release_quietly(message.search_id, owner)
            return Outcome("retry", message.search_id, "store_unavailable")
        except UpstreamError as exc:
            await self._release_quietly(message.search_id, owner)
            return Outcome(
                "retry", message.search_id, exc.code or "upstream_unavailable"
            )
        except Exception:
            await self._release_quietly(message.search_id, owner)
            raise

    async def _claim_and_work(self, message: SearchMessage, owner: str) -> Outcome:
        user_id = message.user_id or self._local_user
        lease = self._settings.sink_lease_seconds
        while True:
            claim = await self._store.claim(message, user_id, owner, lease)
            if claim.outcome == "finished":
                return await self._finished(message.search_id)
            if claim.outcome == "acquired":
                return await self._work(message, user_id, owner)
            # Another delivery holds the lease: wait for it rather than race it.
            await asyncio.sleep(POLL_SECONDS)

    async def _work(
        self, message: SearchMessage, user_id: uuid.UUID, owner: str
    ) -> Outcome:
        pages = await self._store.pages(message.search_id)
        if not pages:
            try:
                pages = await self._discover(message)
            except NoProviderError as exc:
                return await self._fail(message, owner, "no_search_provider", str(exc))
            except ProviderFailedError as exc:
                return await self._fail(message, owner, exc.code, exc.reason)

        pending = [
            page for page in pages.values() if page.state in ("found", "extracted")
        ]
        quota = _Quota(
            message.limit, await self._store.stored_source_ids(message.search_id)
        )
        try:
            await settle(
                self._process_page(message, user_id, page, quota) for page in pending
            )
        except ProviderFailedError as exc:
            return await self._fail(message, owner, exc.code, exc.reason)
        return await self._complete(message, owner)

    async def _discover(self, message: SearchMessage) -> dict[str, PageProgress]:
        found = await self._source.pages(message)
        pages = {}
        for page in found:
            progress = PageProgress(
                page.url,
                "failed" if page.skip_reason else "found",
                reason=page.skip_reason,
                content=page.content,
            )
            await self._store.save_page(message.search_id, progress)
            pages[page.url] = progress
        return pages

    async def _process_page(
        self,
        message: SearchMessage,
        user_id: uuid.UUID,
        page: PageProgress,
        quota: _Quota,
    ) -> None:
        if page.state == "found":
            page = await self._extract_safely(message, page)
        if page.state != "extracted":
            return
        await settle(
            self._store_posting(message, user_id, posting)
            for posting in page.postings
            if quota.reserve(posting.source_id)
        )
        done = PageProgress(page.url, "done", postings=page.postings)
        await persist(self._store.save_page, message.search_id, done)

    async def _extract_safely(
        self, message: SearchMessage, page: PageProgress
    ) -> PageProgress:
        try:
            return await self._extract(message, page)
        except JobSearchError:
            raise
        except Exception:
            # A bug met on one hostile page must not jam the whole search.
            logger.exception(
                "page raised unexpectedly",
                extra=log_fields(search_id=str(message.search_id)),
            )
            return await self._give_up(message, page, "internal_error")

    async def _extract(
        self, message: SearchMessage, page: PageProgress
    ) -> PageProgress:
        if page.content is None:
            if page.attempts >= MAX_PAGE_ATTEMPTS:
                return await self._give_up(message, page, "too_many_attempts")
            # Counted before fetching: a fetch cut off by the deadline is an attempt.
            page = replace(page, attempts=page.attempts + 1)
            await self._store.save_page(message.search_id, page)
        try:
            html, base_url, encoding = await self._page_html(page)
        except FetchError as exc:
            return await self._page_failed(message, page, exc)
        # The page is paid for: extract and save it even if the deadline strikes now.
        return await shielded(
            self._extract_and_save(message, page, html, base_url, encoding)
        )

    async def _extract_and_save(
        self,
        message: SearchMessage,
        page: PageProgress,
        html: str | bytes,
        base_url: str,
        encoding: str | None,
    ) -> PageProgress:
        async with self._timed("extract"):
            extraction = await asyncio.to_thread(
                extract_postings, html, base_url, encoding=encoding
            )
        state: PageState = "extracted" if extraction.postings else "failed"
        reason = None if extraction.postings else "no_job_posting_found"
        progress = PageProgress(
            page.url, state, reason=reason, postings=extraction.postings
        )
        await persist(self._store.save_page, message.search_id, progress)
        return progress

    async def _page_html(
        self, page: PageProgress
    ) -> tuple[str | bytes, str, str | None]:
        if page.content is not None:
            return page.content, page.url, None
        async with self._fetch_slots, self._timed("fetch"):
            fetched = await self._fetcher.fetch(page.url)
        self._metrics.paid_calls.labels(self._reader_name).inc()
        return fetched.body, fetched.final_url, fetched.encoding

    async def _page_failed(
        self, message: SearchMessage, page: PageProgress, exc: FetchError
    ) -> PageProgress:
        if not exc.retryable or page.attempts >= MAX_PAGE_ATTEMPTS:
            return await self._give_up(message, page, exc.reason)
        progress = replace(page, reason=exc.reason)
        await self._store.save_page(message.search_id, progress)
        logger.info(
            "page will be retried",
            extra=log_fields(
                search_id=str(message.search_id),
                reason=exc.reason,
                attempts=page.attempts,
            ),
        )
        return progress

    async def _give_up(
        self, message: SearchMessage, page: PageProgress, reason: str
    ) -> PageProgress:
        failed = replace(page, state="failed", reason=reason)
        await self._store.save_page(message.search_id, failed)
        logger.info(
            "page failed",
            extra=log_fields(search_id=str(message.search_id), reason=reason),
        )
        return failed

    async def _store_posting(
        self, message: SearchMessage, user_id: uuid.UUID, posting: Posting
    ) -> None:
        async with self._enrich_slots, self._timed("enrich"):
            enriched = await self._enricher.enrich(
                posting, page_text=posting.description
            )
        self._count_model_use(enriched)
        await persist(
            self._store.upsert_job,
            enriched,
            user_id=user_id,
            search_id=message.search_id,
            trace_id=message.trace_id,
        )

    @contextlib.asynccontextmanager
    async def _timed(self, stage: str) -> AsyncIterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self._metrics.stage.labels(stage).observe(elapsed)

    def _count_model_use(self, posting: Posting) -> None:
        usage = posting.raw_data.get("enrichment")
        if not isinstance(usage, dict) or not usage.get("calls"):
            return
        provider = self._enricher.name
        self._metrics.paid_calls.labels(provider).inc(usage["calls"])
        for kind in ("input_tokens", "output_tokens"):
            self._metrics.tokens.labels(provider, kind).inc(usage.get(kind) or 0)

    async def _complete(self, message: SearchMessage, owner: str) -> Outcome:
        pages = await self._store.pages(message.search_id)
        if any(page.state == "found" for page in pages.values()):
            # Some page failed transiently: its neighbours are stored, so let the
            # connector deliver again later for the rest.
            await self._store.release(message.search_id, owner)
            return Outcome("retry", message.search_id, "page_retry_pending")
        errors = [
            {"url": page.url, "reason": page.reason or "failed"}
            for page in pages.values()
            if page.state == "failed"
        ]
        if pages and len(errors) == len(pages):
            return await self._fail(
                message, owner, "no_page_succeeded", "no page yielded a job", errors
            )
        await self._store.finish(
            message.search_id, owner, status="completed", errors=errors
        )
        return await self._finished(message.search_id)

    async def _fail(
        self,
        message: SearchMessage,
        owner: str,
        code: str,
        reason: str,
        errors: list[dict[str, str]] | None = None,
    ) -> Outcome:
        await self._store.finish(
            message.search_id,
            owner,
            status="failed",
            errors=errors or [],
            failure_reason=reason,
        )
        logger.info(
            "search failed",
            extra=log_fields(search_id=str(message.search_id), reason=code),
        )
        return await self._finished(message.search_id)

    async def _finished(self, search_id: uuid.UUID) -> Outcome:
        summary = await self._store.summary(search_id, with_jobs=False)
        if summary is None:
            raise StoreError("a finished search has no row")
        kind: OutcomeKind = "completed" if summary.status == "completed" else "failed"
        return Outcome(kind, search_id, summary.failure_reason, summary.jobs_found)

    async def _release_quietly(self, search_id: uuid.UUID, owner: str) -> None:
        try:
            async with asyncio.timeout(2.0):
                await self._store.release(search_id, owner)
        except (StoreError, TimeoutError):
            # The lease expires by itself; the next delivery takes it then.
            logger.warning("lease not released", extra=log_fields(owner=owner))


class _Quota:
    """Postings one search may still store: at most `limit`, each once."""

    def __init__(self, limit: int, stored: set[str]) -> None:
        self._limit = limit
        self._taken = set(stored)

    def reserve(self, source_id: str) -> bool:
        """True when this posting is new and within the limit; it is then taken."""
        if source_id in self._taken or len(self._taken) >= self._limit:
            return False
        self._taken.add(source_id)
        return True


def _delivery_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _loop_time(deadline: float) -> float:
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - time.monotonic())
