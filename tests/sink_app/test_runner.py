"""SearchRunner with fake page readers: hostile pages and pages past the deadline."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from jobsearch.message import SearchMessage
from jobsearch.settings import Settings
from jobsearch.store import SQLiteStore
from sink_app.pipeline.enrich import LocalEnricher
from sink_app.pipeline.fetch import Page
from sink_app.pipeline.runner import MAX_PAGE_ATTEMPTS, SearchRunner
from sink_app.pipeline.source import Source

GOOD = "https://jobs.example.test/good"
BAD = "https://jobs.example.test/bad"
PAGE = (
    b'<html><head><script type="application/ld+json">'
    b'{"@type": "JobPosting", "title": "Data Engineer",'
    b' "hiringOrganization": {"name": "Acme"}}</script></head></html>'
)


class FakeReader:
    """Serves GOOD; BAD raises or hangs, as the test asks."""

    def __init__(self, bad: str) -> None:
        self.bad = bad
        self.calls: Counter[str] = Counter()

    async def fetch(self, url: str) -> Page:
        self.calls[url] += 1
        if url == BAD and self.bad == "raise":
            raise RuntimeError("a bug met on a hostile page")
        if url == BAD and self.bad == "hang":
            await asyncio.sleep(3600)
        return Page(url, url, 200, "text/html", PAGE, "utf-8")


def message() -> SearchMessage:
    return SearchMessage(
        search_id=uuid.uuid4(),
        query="data",
        urls=[GOOD, BAD],
        requested_at=datetime(2026, 12, 4, tzinfo=UTC),
        trace_id="t",
    )


@pytest.fixture
async def store(make_settings: Any) -> Any:
    settings: Settings = make_settings()
    opened = SQLiteStore(settings.sqlite_path)
    await opened.open()
    yield opened
    await opened.close()


def runner(settings: Settings, store: SQLiteStore, reader: FakeReader) -> SearchRunner:
    return SearchRunner(settings, store, Source(), reader, LocalEnricher())


async def test_run_page_raising_unexpectedly_fails_alone(
    make_settings: Any, store: SQLiteStore
) -> None:
    """An unexpected error on one page marks it failed; the search completes."""
    reader = FakeReader("raise")
    search = message()

    outcome = await runner(make_settings(), store, reader).run(
        search, deadline=time.monotonic() + 10
    )

    assert (outcome.kind, outcome.jobs_found) == ("completed", 1)
    pages = await store.pages(search.search_id)
    assert pages[BAD].state == "failed"
    assert pages[BAD].reason == "internal_error"


async def test_run_page_past_deadline_is_given_up_after_max_attempts(
    make_settings: Any, store: SQLiteStore
) -> None:
    """Each delivery cut off by the deadline counts; then the page is given up."""
    reader = FakeReader("hang")
    search = message()
    work = runner(make_settings(), store, reader)

    kinds = [
        (await work.run(search, deadline=time.monotonic() + 0.3)).kind
        for _ in range(MAX_PAGE_ATTEMPTS + 1)
    ]

    assert kinds == ["retry"] * MAX_PAGE_ATTEMPTS + ["completed"]
    assert reader.calls == {GOOD: 1, BAD: MAX_PAGE_ATTEMPTS}
    pages = await store.pages(search.search_id)
    assert pages[BAD].reason == "too_many_attempts"
