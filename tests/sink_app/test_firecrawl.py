"""Firecrawl adapter: the search and scrape bodies sent, and each upstream answer."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from pytest_httpx import HTTPXMock

from jobsearch.errors import JobSearchError, StoreError, UpstreamError
from jobsearch.message import SearchMessage
from jobsearch.settings import Settings
from sink_app.pipeline.fetch import FetchError
from sink_app.pipeline.firecrawl import (
    DEFAULT_DOMAINS,
    EXCLUSIONS,
    POSTING_HINTS,
    TITLE_HINTS,
    FirecrawlConfig,
    FirecrawlScraper,
    FirecrawlSource,
    ProviderFailedError,
    SkippedPage,
    build_firecrawl_client,
    close_firecrawl_client,
    compose_query,
    firecrawl_config,
    normalise_domains,
)
from sink_app.pipeline.source import FoundPage

API = "https://firecrawl.example.test"
SEARCH_URL = f"{API}/v2/search"
SCRAPE_URL = f"{API}/v2/scrape"
USER = uuid.UUID("00000000-0000-4000-8000-0000000000aa")
POSTING = "https://boards.greenhouse.io/example/jobs/123"
JSONLD = '<script type="application/ld+json">{"@type": "JobPosting"}</script>'
CONFIG = FirecrawlConfig(
    api_key=SecretStr("fc-test"),
    api_url=API,
    timeout_seconds=20.0,
    domains=("greenhouse.io", "lever.co"),
)


class Sleeps:
    """Records the waits asked for instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def client() -> AsyncIterator[Any]:
    """One SDK client for the test, closed afterwards."""
    firecrawl = build_firecrawl_client(CONFIG)
    yield firecrawl
    await close_firecrawl_client(firecrawl)


def _message(**overrides: Any) -> SearchMessage:
    values: dict[str, Any] = {
        "search_id": uuid.UUID("3f2b9c1e-0000-4000-8000-000000000001"),
        "user_id": USER,
        "query": "python developer",
        "location": "Berlin",
        "limit": 5,
        "tbs": "qdr:w",
        "requested_at": datetime(2026, 1, 15, 10, 0, tzinfo=UTC),
        "trace_id": "trace-1",
    }
    values.update(overrides)
    return SearchMessage(**values)


def _document(url: str, **fields: Any) -> dict[str, Any]:
    metadata = {"sourceURL": url, "statusCode": 200, "title": "Python Developer"}
    metadata.update(fields.pop("metadata", {}))
    document = {
        "rawHtml": f"<html><body><h1>Python Developer</h1>{JSONLD}</body></html>",
        "markdown": "# Python Developer\nBuild APIs.",
        "metadata": metadata,
    }
    document.update(fields)
    return document


def _search_reply(*items: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": {"web": list(items)}}


def _sent(httpx_mock: HTTPXMock) -> dict[str, Any]:
    request = httpx_mock.get_request()
    assert request is not None
    loaded: dict[str, Any] = json.loads(request.content)
    return loaded


def _scrape_reply(data: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": data}


def _add_rate_limit(
    httpx_mock: HTTPXMock, url: str, retry_after: str, *, is_reusable: bool = False
) -> None:
    httpx_mock.add_response(
        method="POST",
        url=url,
        status_code=429,
        headers={"Retry-After": retry_after},
        json={"success": False, "error": "Rate limit exceeded"},
        is_reusable=is_reusable,
    )


def _source(client: Any, sleep: Sleeps | None = None, **kwargs: Any) -> Any:
    return FirecrawlSource(client, CONFIG, sleep=sleep or Sleeps(), **kwargs)


def _scraper(client: Any, sleep: Sleeps | None = None) -> FirecrawlScraper:
    return FirecrawlScraper(client, CONFIG, sleep=sleep or Sleeps())


# Search: the request


async def test_search_request_composes_query_and_options_exactly(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """The body carries the original's query, tbs, location, limit and formats."""
    httpx_mock.add_response(method="POST", url=SEARCH_URL, json=_search_reply())

    await _source(client).search(_message())

    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["authorization"] == "Bearer fc-test"
    assert request.extensions["timeout"] == {
        "connect": 25.0,
        "read": 25.0,
        "write": 25.0,
        "pool": 25.0,
    }
    assert json.loads(request.content) == {
        "query": (
            'python developer "Berlin" (site:greenhouse.io OR site:lever.co) '
            f"{POSTING_HINTS} {EXCLUSIONS} {TITLE_HINTS}"
        ),
        "sources": [{"type": "web"}],
        "limit": 5,
        "tbs": "qdr:w",
        "location": "Berlin",
        "timeout": 20000,
        "scrapeOptions": {
            "formats": ["rawHtml", "markdown"],
            "onlyMainContent": True,
            "blockAds": True,
            "proxy": "auto",
            "removeBase64Images": True,
            "maxAge": 3_600_000,
            "storeInCache": True,
        },
        "origin": "jobsearch-sink",
    }


@pytest.mark.parametrize(
    ("overrides", "expected_start", "location_sent"),
    [
        ({"location": "Remote"}, 'python developer "Remote" (site:', None),
        ({"location": None, "remote": True}, "python developer remote (site:", None),
        ({"location": 'Ber"lin'}, 'python developer "Berlin" (site:', 'Ber"lin'),
        (
            {"location": "Remote", "remote": True},
            'python developer "Remote" (site:',
            None,
        ),
    ],
)
async def test_search_request_location_variants_compose_as_documented(
    httpx_mock: HTTPXMock,
    client: Any,
    overrides: dict[str, Any],
    expected_start: str,
    location_sent: str | None,
) -> None:
    """Remote places are not geo-targets; quotes cannot break the quoted phrase."""
    httpx_mock.add_response(method="POST", url=SEARCH_URL, json=_search_reply())

    await _source(client).search(_message(**overrides))

    body = _sent(httpx_mock)
    assert body["query"].startswith(expected_start)
    assert body.get("location") == location_sent


def test_compose_query_without_location_omits_the_phrase() -> None:
    """No location means no empty quotes in the query."""
    query = compose_query(_message(location=None), ["lever.co"])

    assert query == (
        f"python developer (site:lever.co) {POSTING_HINTS} {EXCLUSIONS} {TITLE_HINTS}"
    )


# Search: per-user sources


@pytest.mark.parametrize(
    ("own", "expected_sites"),
    [
        (
            ["Jobs.Example.test", "https://www.lever.co/", "bad domain OR x"],
            "site:jobs.example.test OR site:lever.co",
        ),
        (None, "site:greenhouse.io OR site:lever.co"),
        ([], "site:greenhouse.io OR site:lever.co"),
        (["not a domain"], "site:greenhouse.io OR site:lever.co"),
    ],
)
async def test_search_user_sources_replace_default_list_when_usable(
    httpx_mock: HTTPXMock,
    client: Any,
    own: list[str] | None,
    expected_sites: str,
) -> None:
    """A user's enabled sources replace the defaults; unusable lists fall back."""
    httpx_mock.add_response(method="POST", url=SEARCH_URL, json=_search_reply())
    asked: list[uuid.UUID] = []

    async def user_sources(user_id: uuid.UUID) -> list[str] | None:
        asked.append(user_id)
        return own

    await _source(client, user_sources=user_sources).search(_message())

    assert asked == [USER]
    assert f"({expected_sites})" in _sent(httpx_mock)["query"]


async def test_search_user_sources_store_failure_uses_defaults(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """A store fault while reading the user's list does not fail the search."""
    httpx_mock.add_response(method="POST", url=SEARCH_URL, json=_search_reply())

    async def user_sources(user_id: uuid.UUID) -> list[str] | None:
        raise StoreError("down")

    await _source(client, user_sources=user_sources).search(_message())

    assert "(site:greenhouse.io OR site:lever.co)" in _sent(httpx_mock)["query"]


def test_normalise_domains_blocklist_removes_domain_and_subdomains() -> None:
    """Blocked domains leave the list with their subdomains."""
    domains = normalise_domains(
        ["greenhouse.io", "jobs.bad.example", "bad.example", "lever.co", "LEVER.co"],
        blocked=["bad.example"],
    )

    assert domains == ("greenhouse.io", "lever.co")


def test_default_domains_are_the_originals_list() -> None:
    """The default allowlist is the original's 24 job boards, all valid names."""
    assert len(DEFAULT_DOMAINS) == 24
    assert normalise_domains(DEFAULT_DOMAINS) == DEFAULT_DOMAINS


# Search: the answer


@pytest.mark.parametrize(
    "reply",
    [
        _search_reply(
            _document(POSTING),
            {"url": "https://jobs.lever.co/example/abc", "title": "Backend Dev"},
        ),
        {
            "success": True,
            "data": [
                _document(POSTING),
                {"url": "https://jobs.lever.co/example/abc", "title": "Backend Dev"},
            ],
        },
    ],
    ids=["v2-web", "v1-list"],
)
async def test_search_both_result_shapes_yield_the_same_pages(
    httpx_mock: HTTPXMock, client: Any, reply: dict[str, Any]
) -> None:
    """`data.web` and a bare `data` list give the same pages (FC-1)."""
    httpx_mock.add_response(method="POST", url=SEARCH_URL, json=reply)

    pages = await _source(client).search(_message())

    assert [page.url for page in pages] == [
        POSTING,
        "https://jobs.lever.co/example/abc",
    ]
    assert pages[0].content is not None
    assert JSONLD in pages[0].content
    assert pages[1].content is None  # no content came back: fetched later


@pytest.mark.parametrize(
    "reply",
    [
        {"success": True},
        {"success": True, "data": {"web": None}},
        {"success": True, "data": {"news": []}},
        {"success": True, "data": "nothing"},
    ],
)
async def test_search_unknown_shape_raises_retryable_error(
    httpx_mock: HTTPXMock, client: Any, reply: dict[str, Any]
) -> None:
    """An answer in no known shape is an upstream fault, never zero jobs."""
    httpx_mock.add_response(method="POST", url=SEARCH_URL, json=reply)

    with pytest.raises(UpstreamError) as caught:
        await _source(client).search(_message())

    assert caught.value.retryable
    assert caught.value.code == "scraper_bad_response"


async def test_search_filters_results_like_the_original(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """Allowed domains only, each URL once, search and listing pages dropped."""
    listing_with_postings = "https://example.greenhouse.io/careers"
    reply = _search_reply(
        _document(
            "https://jobs.lever.co/acme",
            rawHtml="<p>Browse 120 jobs in Berlin</p>",
            markdown="Browse 120 jobs in Berlin",
        ),
        _document(POSTING + "/"),
        _document(POSTING),
        _document("https://www.indeed.com/viewjob?jk=1"),
        _document("https://boards.greenhouse.io/search?q=python"),
        _document("https://jobs.lever.co/example/jobs", rawHtml="<p>list</p>"),
        _document(listing_with_postings),
        _document("https://jobs.lever.co/example/abc-123"),
    )
    httpx_mock.add_response(method="POST", url=SEARCH_URL, json=reply)

    pages = await _source(client).search(_message())

    assert [page.url for page in pages] == [
        POSTING,
        listing_with_postings,
        "https://jobs.lever.co/example/abc-123",
    ]


async def test_search_keeps_posting_pages_first_and_at_most_limit(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """Posting URLs sort before other pages; the limit cuts after sorting."""
    reply = _search_reply(
        _document("https://example.greenhouse.io/team"),
        _document("https://boards.greenhouse.io/example/jobs/1"),
        _document("https://boards.greenhouse.io/example/jobs/2"),
    )
    httpx_mock.add_response(method="POST", url=SEARCH_URL, json=reply)

    pages = await _source(client).search(_message(limit=2))

    assert [page.url for page in pages] == [
        "https://boards.greenhouse.io/example/jobs/1",
        "https://boards.greenhouse.io/example/jobs/2",
    ]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (
            {
                "markdown": "",
                "html": "<html><body><h1>Access denied</h1></body></html>",
                "metadata": {"sourceURL": POSTING, "statusCode": 403},
            },
            "blocked_page",
        ),
        (
            {"markdown": "", "metadata": {"sourceURL": POSTING, "statusCode": 200}},
            "empty_content",
        ),
        (
            {"markdown": "  ", "rawHtml": "", "metadata": {"sourceURL": POSTING}},
            "empty_content",
        ),
        (_document(POSTING, metadata={"statusCode": 503}), "blocked_page"),
    ],
)
async def test_search_unusable_result_is_skipped_with_reason(
    httpx_mock: HTTPXMock, client: Any, document: dict[str, Any], reason: str
) -> None:
    """Block pages and empty content come back as SkippedPage, never content (FC-5)."""
    httpx_mock.add_response(method="POST", url=SEARCH_URL, json=_search_reply(document))

    pages = await _source(client).search(_message())

    assert pages == [SkippedPage(POSTING, skip_reason=reason)]
    assert isinstance(pages[0], FoundPage)
    assert pages[0].content == ""


# Search: failures


async def test_search_rate_limited_waits_retry_after_then_succeeds(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """A 429 with Retry-After: 2 waits 2 s and asks once more (FC-3)."""
    _add_rate_limit(httpx_mock, SEARCH_URL, "2")
    httpx_mock.add_response(
        method="POST", url=SEARCH_URL, json=_search_reply(_document(POSTING))
    )
    sleeps = Sleeps()

    pages = await _source(client, sleeps).search(_message())

    assert sleeps.waits == [2.0]
    assert [page.url for page in pages] == [POSTING]
    assert len(httpx_mock.get_requests()) == 2


async def test_search_rate_limited_throughout_raises_retryable_after_bounded_waits(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """Still limited after the retries: a retryable error carrying the wait."""
    _add_rate_limit(httpx_mock, SEARCH_URL, "2", is_reusable=True)
    sleeps = Sleeps()

    with pytest.raises(UpstreamError) as caught:
        await _source(client, sleeps).search(_message())

    assert sleeps.waits == [2.0, 2.0]
    assert len(httpx_mock.get_requests()) == 3
    assert caught.value.retryable
    assert caught.value.retry_after == 2.0
    assert caught.value.code == "scraper_rate_limited"


async def test_search_retry_after_beyond_budget_raises_without_waiting(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """A wait longer than the budget is handed to the connector, not slept."""
    _add_rate_limit(httpx_mock, SEARCH_URL, "60")
    sleeps = Sleeps()

    with pytest.raises(UpstreamError) as caught:
        await _source(client, sleeps).search(_message())

    assert sleeps.waits == []
    assert caught.value.retry_after == 60.0


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (
            402,
            {"success": False, "error": "Insufficient credits for this request"},
            "scraper_credits_exhausted",
        ),
        (
            401,
            {"success": False, "error": "Unauthorized: Invalid token"},
            "scraper_unauthorized",
        ),
        (
            400,
            {
                "success": False,
                "error": "Bad Request",
                "details": [{"code": "unrecognized_keys", "keys": ["pageOptions"]}],
            },
            "scraper_rejected",
        ),
    ],
)
async def test_search_account_or_request_fault_fails_visibly_once(
    httpx_mock: HTTPXMock,
    client: Any,
    status: int,
    body: dict[str, Any],
    code: str,
) -> None:
    """402, 401 and 400 raise ProviderFailedError after one request (FC-2, FC-4)."""
    httpx_mock.add_response(
        method="POST", url=SEARCH_URL, status_code=status, json=body
    )

    with pytest.raises(ProviderFailedError) as caught:
        await _source(client).search(_message())

    assert caught.value.code == code
    assert isinstance(caught.value, JobSearchError)
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.parametrize("status", [500, 503, 408])
async def test_search_server_fault_raises_retryable_error(
    httpx_mock: HTTPXMock, client: Any, status: int
) -> None:
    """Server-side faults may heal: retryable, so the connector comes back."""
    httpx_mock.add_response(
        method="POST", url=SEARCH_URL, status_code=status, json={"success": False}
    )

    with pytest.raises(UpstreamError) as caught:
        await _source(client).search(_message())

    assert caught.value.retryable
    assert caught.value.code == "scraper_unavailable"


async def test_search_success_false_raises_retryable_error(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """A 200 saying `success: false` is a failure, not zero results."""
    httpx_mock.add_response(
        method="POST", url=SEARCH_URL, json={"success": False, "error": "boom"}
    )

    with pytest.raises(UpstreamError):
        await _source(client).search(_message())


async def test_search_timeout_raises_retryable_error_after_one_attempt(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """A transport timeout is not re-sent by the SDK (it would be paid twice)."""
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), method="POST", url=SEARCH_URL)

    with pytest.raises(UpstreamError) as caught:
        await _source(client).search(_message())

    assert caught.value.retryable
    assert len(httpx_mock.get_requests()) == 1


# Scrape


async def test_scrape_request_body_is_exact_and_page_is_raw_html(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """The scrape asks for raw HTML and markdown, fresh within an hour, no resume."""
    document = _document(POSTING)
    httpx_mock.add_response(method="POST", url=SCRAPE_URL, json=_scrape_reply(document))

    page = await _scraper(client).fetch(POSTING)

    assert _sent(httpx_mock) == {
        "url": POSTING,
        "formats": ["rawHtml", "markdown"],
        "onlyMainContent": True,
        "timeout": 20000,
        "maxAge": 3_600_000,
        "storeInCache": True,
        "blockAds": True,
        "proxy": "auto",
        "removeBase64Images": True,
        "mobile": False,
        "fastMode": False,
        "origin": "jobsearch-sink",
    }
    assert page.url == POSTING
    assert page.final_url == POSTING
    assert page.status == 200
    assert page.content_type == "text/html"
    assert page.body == document["rawHtml"].encode()
    assert page.encoding == "utf-8"


async def test_scrape_markdown_only_page_is_plain_text(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """Without raw HTML the markdown is handed on as plain text."""
    data = {"markdown": "# Python Developer", "metadata": {"sourceURL": POSTING}}
    httpx_mock.add_response(method="POST", url=SCRAPE_URL, json=_scrape_reply(data))

    page = await _scraper(client).fetch(POSTING)

    assert page.content_type == "text/plain"
    assert page.body == b"# Python Developer"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            {
                "markdown": "",
                "html": "<html><body><h1>Access denied</h1></body></html>",
                "metadata": {"sourceURL": POSTING, "statusCode": 403},
            },
            "blocked_page",
        ),
        ({"markdown": "", "metadata": {"sourceURL": POSTING}}, "empty_content"),
    ],
)
async def test_scrape_unusable_page_raises_fetch_error_with_reason(
    httpx_mock: HTTPXMock, client: Any, data: dict[str, Any], reason: str
) -> None:
    """A block page or empty content is a skipped page, with its reason (FC-5)."""
    httpx_mock.add_response(method="POST", url=SCRAPE_URL, json=_scrape_reply(data))

    with pytest.raises(FetchError) as caught:
        await _scraper(client).fetch(POSTING)

    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("status", "body", "reason", "retryable"),
    [
        (403, {"success": False, "error": "blocked"}, "scraper_error", False),
        (500, {"success": False, "error": "boom"}, "scraper_error", True),
        (
            400,
            {"success": False, "error": "x", "code": "SCRAPE_DNS_RESOLUTION_ERROR"},
            "dns_error",
            False,
        ),
    ],
)
async def test_scrape_page_fault_raises_fetch_error(
    httpx_mock: HTTPXMock,
    client: Any,
    status: int,
    body: dict[str, Any],
    reason: str,
    retryable: bool,
) -> None:
    """Faults of one page fail that page only, as the keyless fetcher does."""
    httpx_mock.add_response(
        method="POST", url=SCRAPE_URL, status_code=status, json=body
    )

    with pytest.raises(FetchError) as caught:
        await _scraper(client).fetch(POSTING)

    assert (caught.value.reason, caught.value.retryable) == (reason, retryable)


async def test_scrape_out_of_credits_fails_the_search_visibly(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """402 on a scrape is an account fault, not a page fault."""
    httpx_mock.add_response(
        method="POST",
        url=SCRAPE_URL,
        status_code=402,
        json={"success": False, "error": "Insufficient credits for this request"},
    )

    with pytest.raises(ProviderFailedError) as caught:
        await _scraper(client).fetch(POSTING)

    assert caught.value.code == "scraper_credits_exhausted"


async def test_scrape_rate_limited_waits_then_raises_retryable(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """429 on a scrape follows the search's wait-then-503 policy."""
    _add_rate_limit(httpx_mock, SCRAPE_URL, "1", is_reusable=True)
    sleeps = Sleeps()

    with pytest.raises(UpstreamError) as caught:
        await _scraper(client, sleeps).fetch(POSTING)

    assert sleeps.waits == [1.0, 1.0]
    assert caught.value.retryable
    assert caught.value.code == "scraper_rate_limited"


async def test_scrape_timeout_raises_retryable_fetch_error(
    httpx_mock: HTTPXMock, client: Any
) -> None:
    """A scraper that does not answer is a retryable timeout for that page."""
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), method="POST", url=SCRAPE_URL)

    with pytest.raises(FetchError) as caught:
        await _scraper(client).fetch(POSTING)

    assert (caught.value.reason, caught.value.retryable) == ("timeout", True)


# Settings


def test_firecrawl_config_without_key_is_disabled(
    make_settings: Callable[..., Settings],
) -> None:
    """No FIRECRAWL_API_KEY means no Firecrawl."""
    assert firecrawl_config(make_settings()) is None


def test_firecrawl_config_reads_the_proposed_settings(
    make_settings: Callable[..., Settings],
) -> None:
    """The proposed settings names map onto the config."""
    settings = make_settings(
        firecrawl_api_key=SecretStr("fc-x"),
        firecrawl_api_url="http://firecrawl:3002",
        firecrawl_timeout_seconds=15.0,
        firecrawl_max_age_ms=0,
        job_board_domains=["lever.co"],
    )

    config = firecrawl_config(settings)

    assert config == FirecrawlConfig(
        api_key=SecretStr("fc-x"),
        api_url="http://firecrawl:3002",
        timeout_seconds=15.0,
        max_age_ms=0,
        domains=("lever.co",),
    )
