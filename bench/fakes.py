"""Upstream stand-ins with the issue's latencies: search, pages, model, store."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.types import Receive, Scope, Send

from jobsearch.message import SearchMessage
from jobsearch.posting import Posting
from jobsearch.store.forwarding import ForwardingStore
from sink_app.pipeline.enrich import LocalEnricher
from sink_app.pipeline.source import FoundPage

SEARCH_SECONDS = 0.8
WRITE_SECONDS = 0.02
RESULTS = 10
_INDEX = re.compile(r"#(\d+)")
T = TypeVar("T")


def page_seconds(index: int) -> float:
    """Page `index` of a search answers after 300-1500 ms."""
    return 0.3 + 1.2 * index / (RESULTS - 1)


def enrich_seconds(index: int) -> float:
    """The model answers posting `index` after 1-2 s, in a shuffled order."""
    return 1.0 + ((index * 7) % RESULTS) / (RESULTS - 1)


def critical_path() -> float:
    """Search, the slowest page, the slowest model call and one write."""
    slowest_page = max(page_seconds(i) for i in range(RESULTS))
    slowest_model = max(enrich_seconds(i) for i in range(RESULTS))
    return SEARCH_SECONDS + slowest_page + slowest_model + WRITE_SECONDS


def job_page(index: int) -> bytes:
    """A page holding one complete JSON-LD JobPosting numbered `index`."""
    return f"""<!doctype html><html><head><title>Job #{index}</title>
<script type="application/ld+json">{{"@context": "https://schema.org",
"@type": "JobPosting", "title": "Backend Engineer #{index}",
"datePosted": "2026-11-20", "employmentType": "FULL_TIME",
"hiringOrganization": {{"@type": "Organization", "name": "Bench Co {index}"}},
"jobLocation": {{"@type": "Place", "address": {{"@type": "PostalAddress",
"addressLocality": "Berlin", "addressCountry": "DE"}}}},
"url": "https://jobs.example.test/{index}",
"description": "<p>Build Python services on PostgreSQL for role {index}.</p>"}}
</script></head><body><h1>Backend Engineer #{index}</h1></body></html>""".encode()


async def page_server(scope: Scope, receive: Receive, send: Send) -> None:
    """`GET /job/<i>`: job page `i` after its latency."""
    if scope["type"] != "http":
        return
    index = int(scope["path"].rsplit("/", 1)[-1])
    await asyncio.sleep(page_seconds(index))
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": job_page(index)})


class SlowSearch:
    """A search provider that finds the page server's ten jobs after 800 ms."""

    name = "bench"

    def __init__(self, pages_url: str) -> None:
        self._pages_url = pages_url

    async def search(self, message: SearchMessage) -> list[FoundPage]:
        """Ten page URLs, after the search latency."""
        await asyncio.sleep(SEARCH_SECONDS)
        return [FoundPage(f"{self._pages_url}/job/{i}") for i in range(RESULTS)]


class SlowModel:
    """An enricher that spends 1-2 s per posting, as a model call would."""

    name = "bench-model"

    def __init__(self) -> None:
        self._local = LocalEnricher()

    async def enrich(self, posting: Posting, *, page_text: str | None) -> Posting:
        """The local enrichment, after the posting's model latency."""
        match = _INDEX.search(posting.title)
        await asyncio.sleep(enrich_seconds(int(match.group(1)) if match else 0))
        return await self._local.enrich(posting, page_text=page_text)


class SlowStore(ForwardingStore):
    """A store whose every write costs 20 ms more, as a remote database would."""

    async def _write(self, call: Callable[[], Awaitable[T]]) -> T:
        await asyncio.sleep(WRITE_SECONDS)
        return await call()
