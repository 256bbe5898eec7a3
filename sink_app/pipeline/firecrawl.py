"""Firecrawl: search job boards for a query, and scrape single pages, in one adapter.

A search is composed as the original Edge Function composed it: the query, the quoted
location, an OR of `site:` clauses over the allowed job boards (a user's own list from
the store replaces the default one), hints for posting pages and exclusions for search
and listing pages, the message's `tbs` window and `limit`. Each result carries the raw
HTML (structured data lives there) and markdown. Results are kept only on allowed
domains, once per URL, and aggregate pages only when they carry JobPosting data.

Freshness: every scrape sends `maxAge` explicitly (default one hour, not the SDK's
silent four hours) with `storeInCache` on. A posting rarely changes within an hour,
while a cached copy answers in milliseconds, which keeps a redelivered search inside
the sink's deadline; `FIRECRAWL_MAX_AGE_MS=0` forces fresh pages.

The search goes through the SDK's own HTTP client rather than `AsyncFirecrawl.search`
because the SDK silently drops the `data: [...]` result shape of v1 and self-hosted
servers; both shapes are read here. Failures: 429 waits for `Retry-After` within a
small budget, then raises a retryable `UpstreamError`; 401 and 402 raise
`ProviderFailedError`, which the runner records as a failed search with its reason.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from firecrawl import AsyncFirecrawl  # type: ignore[import-untyped]
from firecrawl.v2.types import (  # type: ignore[import-untyped]
    Document,
    SearchResultWeb,
)
from firecrawl.v2.utils.error_handler import (  # type: ignore[import-untyped]
    DNSResolutionError,
    FirecrawlError,
    PaymentRequiredError,
    RateLimitError,
    TLSError,
    UnauthorizedError,
    handle_response_error,
)
from firecrawl.v2.utils.normalize import (  # type: ignore[import-untyped]
    normalize_document_input,
)
from pydantic import SecretStr, ValidationError

from jobsearch.errors import JobSearchError, UpstreamError
from jobsearch.logs import log_fields
from jobsearch.message import SearchMessage
from jobsearch.settings import Settings
from sink_app.pipeline.fetch import FetchError, Page
from sink_app.pipeline.source import FoundPage, ProviderFailedError

logger = logging.getLogger("jobsearch.sink.firecrawl")

SERVICE = "firecrawl"
ORIGIN = "jobsearch-sink"
DEFAULT_DOMAINS = (
    "remote.co",
    "remotive.com",
    "remoteok.com",
    "jobicy.com",
    "levels.fyi",
    "greenhouse.io",
    "lever.co",
    "wellfound.com",
    "builtin.com",
    "workingnomads.com",
    "weworkremotely.com",
    "flexjobs.com",
    "cryptojobslist.com",
    "otta.com",
    "hired.com",
    "dice.com",
    "ycombinator.com",
    "startup.jobs",
    "nodesk.co",
    "remoterocketship.com",
    "jobspresso.com",
    "talent.hubstaff.com",
    "flexa.careers",
    "jobs.micro1.ai",
)
FORMATS = ("rawHtml", "markdown")
POSTING_HINTS = "(inurl:job OR inurl:view OR inurl:posting OR inurl:opening OR inurl:career OR inurl:apply OR inurl:detail)"  # noqa: E501
EXCLUSIONS = "-inurl:search -inurl:/q- -inurl:company-reviews -inurl:salaries"
TITLE_HINTS = "(intitle:job OR intitle:hiring OR intitle:career OR intitle:opening)"
MAX_RETRY_AFTER = 3600.0

_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63})+$")
_REMOTE_PLACE = re.compile(r"^(remote|anywhere|worldwide|global)$", re.IGNORECASE)
_SEARCH_URL = re.compile(r"/search|/q-|jobs\.html?$", re.IGNORECASE)
_LISTING_URL = re.compile(
    r"/(search|job-search|jobs-search|find-jobs|browse|companies|categories)(/|$)"
    r"|/(jobs?|careers?|openings?|positions?|vacancies?|remote-jobs)/?$",
    re.IGNORECASE,
)
_LISTING_TEXT = re.compile(
    r"\b\d+\s+(?:fully\s+remote\s+)?[\w\s()/-]{2,80}\s+jobs?\s+in\b"
    r"|\b(?:jobs|vacancies|openings)\s+in\s+(?:the\s+best\s+)?companies\b"
    r"|\b(?:show|find|browse|view)\s+\d+\+?\s+jobs?\b"
    r"|\bjob board\b|\bsearch results\b|\ball jobs\b|\bmore jobs\b",
    re.IGNORECASE,
)
_POSTING_URL = re.compile(
    r"/(?:jobs?|posting|opening|careers?|apply|positions?|remote-jobs|l|viewjob)"
    r"(?:/detail)?/[^/]+/?$"
    r"|/jobs/view/|/job-listing/|/jobs/detail/|/job-detail/",
    re.IGNORECASE,
)
_CARRIES_POSTING = re.compile(r"schema\.org/JobPosting|\"JobPosting\"", re.IGNORECASE)

UserSources = Callable[[uuid.UUID], Awaitable[Sequence[str] | None]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class FirecrawlConfig:
    """What the adapter needs from settings; times in seconds, `max_age_ms` in ms."""

    api_key: SecretStr | None
    api_url: str = "https://api.firecrawl.dev"
    timeout_seconds: float = 20.0
    max_age_ms: int = 3_600_000
    domains: tuple[str, ...] = DEFAULT_DOMAINS
    blocked_domains: tuple[str, ...] = ()
    retry_budget_seconds: float = 8.0
    max_rate_limit_retries: int = 2


@dataclass(frozen=True)
class SkippedPage(FoundPage):
    """A result that came back unusable; `content` is empty so nothing reads it."""

    content: str | None = ""
    skip_reason: str | None = "skipped"


@dataclass(frozen=True)
class _Result:
    """One result as the SDK types it, reduced to what selection needs."""

    url: str
    title: str
    description: str
    raw_html: str
    markdown: str
    status: int | None
    is_document: bool = False


def firecrawl_config(settings: Settings) -> FirecrawlConfig | None:
    """The adapter's config from settings; None when `FIRECRAWL_API_KEY` is unset."""
    if settings.firecrawl_api_key is None:
        return None
    return FirecrawlConfig(
        api_key=settings.firecrawl_api_key,
        api_url=settings.firecrawl_api_url,
        timeout_seconds=settings.firecrawl_timeout_seconds,
        max_age_ms=settings.firecrawl_max_age_ms,
        domains=tuple(settings.job_board_domains or DEFAULT_DOMAINS),
        blocked_domains=tuple(settings.job_board_blocked_domains),
    )


def build_firecrawl_client(config: FirecrawlConfig) -> AsyncFirecrawl:
    """One client per app; its transport timeout outlasts the server-side budget."""
    key = config.api_key.get_secret_value() if config.api_key else None
    return AsyncFirecrawl(
        api_key=key,
        api_url=config.api_url,
        timeout=config.timeout_seconds + 5.0,
        # One attempt: a timed-out search or scrape re-sent by the SDK is paid twice.
        max_retries=1,
        origin=ORIGIN,
    )


async def close_firecrawl_client(client: AsyncFirecrawl) -> None:
    """Close the SDK's HTTP connections; the SDK offers no public close."""
    await _http(client).close()


def compose_query(message: SearchMessage, domains: Sequence[str]) -> str:
    """The search text: query, location, allowed sites, posting hints, exclusions."""
    location = (message.location or "").replace('"', "").strip()
    remote = "remote" if message.remote and "remote" not in location.lower() else ""
    sites = " OR ".join(f"site:{domain}" for domain in domains)
    parts = [
        message.query,
        f'"{location}"' if location else "",
        remote,
        f"({sites})",
        POSTING_HINTS,
        EXCLUSIONS,
        TITLE_HINTS,
    ]
    return " ".join(part for part in parts if part)


def normalise_domains(
    domains: Sequence[str], blocked: Sequence[str] = ()
) -> tuple[str, ...]:
    """Valid host names only, lower-case, without `www.`, once each, none blocked."""
    kept: dict[str, None] = {}
    for raw in domains:
        domain = _bare_host(str(raw))
        if domain and _DOMAIN.match(domain) and not _on_domains(domain, blocked):
            kept[domain] = None
    return tuple(kept)


class FirecrawlSource:
    """A `SearchProvider` that searches the allowed job boards through Firecrawl."""

    name = "firecrawl"

    def __init__(
        self,
        client: AsyncFirecrawl,
        config: FirecrawlConfig,
        *,
        user_sources: UserSources | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client = client
        self._config = config
        self._user_sources = user_sources
        self._calls = _Caller(config, sleep)

    async def search(self, message: SearchMessage) -> list[FoundPage]:
        """Allowed result pages for the message, posting pages first, at most `limit`.

        Raises `UpstreamError` (retryable) or `ProviderFailedError` (visible failure).
        """
        domains = await self._domains(message.user_id)
        body = search_body(message, domains, self._config)
        payload = await self._calls.run(lambda: self._post_search(body), "search")
        return select_pages(_result_items(payload), domains, message.limit)

    async def _post_search(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await _http(self._client).post("/v2/search", body)
        payload = _json_object(response)
        if response.status_code != 200 or not payload.get("success"):
            handle_response_error(response, "search")
        return payload

    async def _domains(self, user_id: uuid.UUID | None) -> tuple[str, ...]:
        configured = normalise_domains(
            self._config.domains, self._config.blocked_domains
        )
        if user_id is None or self._user_sources is None:
            return configured
        try:
            own = await self._user_sources(user_id)
        except JobSearchError:
            logger.warning("user sources unavailable, using the default list")
            return configured
        chosen = normalise_domains(own or (), self._config.blocked_domains)
        return chosen or configured


class FirecrawlScraper:
    """Reads one page through Firecrawl; a drop-in for `PageFetcher.fetch`."""

    name = "firecrawl"

    def __init__(
        self,
        client: AsyncFirecrawl,
        config: FirecrawlConfig,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client = client
        self._config = config
        self._calls = _Caller(config, sleep)

    async def fetch(self, url: str) -> Page:
        """The page's raw HTML (else markdown); raises FetchError for an unusable page.

        Account faults raise `UpstreamError` or `ProviderFailedError` as for a search.
        """
        document = await self._calls.run(lambda: self._scrape(url), "scrape")
        result = _document_result(document, fallback_url=url)
        reason = _unusable(result)
        if reason is not None:
            raise FetchError(
                reason, _skip_message(reason, result), status=result.status
            )
        body = result.raw_html or result.markdown
        return Page(
            url=url,
            final_url=result.url,
            status=result.status or 200,
            content_type="text/html" if result.raw_html else "text/plain",
            body=body.encode("utf-8"),
            encoding="utf-8",
        )

    async def _scrape(self, url: str) -> Any:
        return await self._client.scrape(
            url,
            formats=list(FORMATS),
            only_main_content=True,
            timeout=_milliseconds(self._config.timeout_seconds),
            max_age=self._config.max_age_ms,
            store_in_cache=True,
            block_ads=True,
            proxy="auto",
            remove_base64_images=True,
            # Fail fast: the SDK would otherwise sleep up to 20 minutes on a 408.
            auto_resume=False,
        )


def search_body(
    message: SearchMessage, domains: Sequence[str], config: FirecrawlConfig
) -> dict[str, Any]:
    """The `/v2/search` JSON body, spelled out so no option is dropped silently."""
    body: dict[str, Any] = {
        "query": compose_query(message, domains),
        "sources": [{"type": "web"}],
        "limit": message.limit,
        "tbs": message.tbs,
        "timeout": _milliseconds(config.timeout_seconds),
        "scrapeOptions": {
            "formats": list(FORMATS),
            "onlyMainContent": True,
            "blockAds": True,
            "proxy": "auto",
            "removeBase64Images": True,
            "maxAge": config.max_age_ms,
            "storeInCache": True,
        },
    }
    location = (message.location or "").strip()
    if location and not _REMOTE_PLACE.match(location):
        body["location"] = location
    return body


def select_pages(
    items: Sequence[Any], domains: Sequence[str], limit: int
) -> list[FoundPage]:
    """Filter results as the original did; unusable ones come back as SkippedPage."""
    kept: list[tuple[bool, FoundPage]] = []
    skipped: list[FoundPage] = []
    seen: set[str] = set()
    for item in items:
        result = _item_result(item)
        if result is None or not _admissible(result, domains, seen):
            continue
        seen.add(result.url)
        reason = _unusable(result) if result.is_document else None
        if reason is not None:
            skipped.append(SkippedPage(result.url, skip_reason=reason))
            continue
        content = result.raw_html or result.markdown or None
        kept.append((_is_posting_url(result.url), FoundPage(result.url, content)))
    kept.sort(key=lambda pair: not pair[0])
    return [page for _, page in kept[:limit]] + skipped[:limit]


class _Caller:
    """Runs one Firecrawl call, waiting out 429s within a budget, translating errors."""

    def __init__(self, config: FirecrawlConfig, sleep: Sleep) -> None:
        self._budget = config.retry_budget_seconds
        self._retries = config.max_rate_limit_retries
        self._sleep = sleep

    async def run(self, call: Callable[[], Awaitable[Any]], action: str) -> Any:
        waited = 0.0
        for attempt in range(self._retries + 1):
            try:
                return await call()
            except RateLimitError as exc:
                wait = _retry_after(exc.response) or 2.0**attempt
                if attempt == self._retries or waited + wait > self._budget:
                    raise _rate_limited(wait) from exc
                logger.warning(
                    "firecrawl rate limited",
                    extra=log_fields(action=action, wait_seconds=wait),
                )
                started = time.monotonic()
                await self._sleep(wait)
                waited += max(wait, time.monotonic() - started)
            except FirecrawlError as exc:
                raise _translate(exc, action) from exc
            except httpx.HTTPError as exc:
                raise _transport_error(exc, action) from exc
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover


def _http(client: AsyncFirecrawl) -> Any:
    # The SDK's own HTTP client (auth header, origin) behind the public methods.
    return client._v2_client.async_http_client


def _json_object(response: Any) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _result_items(payload: dict[str, Any]) -> list[Any]:
    data = payload.get("data")
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("web"), list):
        return list(data["web"])
    raise UpstreamError(
        SERVICE,
        "search answered in an unknown shape",
        retryable=True,
        code="scraper_bad_response",
    )


def _item_result(item: Any) -> _Result | None:
    if isinstance(item, str):
        item = {"url": item}
    if not isinstance(item, dict):
        return None
    try:
        if set(item) & {"markdown", "html", "rawHtml", "links", "json", "summary"}:
            return _document_result(Document(**normalize_document_input(item)))
        return _web_result(SearchResultWeb(**item))
    except (ValidationError, TypeError):
        return None


def _web_result(web: Any) -> _Result | None:
    url = _clean_url(web.url)
    if url is None:
        return None
    return _Result(url, web.title or "", web.description or "", "", "", None)


def _document_result(document: Any, fallback_url: str = "") -> _Result:
    metadata = document.metadata
    # The SDK's Document has no url: it lives in the metadata.
    raw_url = (metadata and (metadata.source_url or metadata.url)) or fallback_url
    return _Result(
        url=_clean_url(raw_url) or fallback_url,
        title=(metadata and metadata.title) or "",
        description=(metadata and metadata.description) or "",
        raw_html=(document.raw_html or document.html or "").strip(),
        markdown=(document.markdown or "").strip(),
        status=(metadata and metadata.status_code) or None,
        is_document=True,
    )


def _admissible(result: _Result, domains: Sequence[str], seen: set[str]) -> bool:
    host = _bare_host(result.url)
    if not host or not _on_domains(host, domains) or result.url in seen:
        return False
    if _SEARCH_URL.search(result.url):
        return False
    if _is_posting_url(result.url) or not _looks_like_listing(result):
        return True
    return bool(_CARRIES_POSTING.search(result.raw_html))


def _unusable(result: _Result) -> str | None:
    if result.status is not None and result.status >= 400:
        return "blocked_page"
    if not result.raw_html and not result.markdown:
        return "empty_content"
    return None


def _skip_message(reason: str, result: _Result) -> str:
    if reason == "blocked_page":
        return f"The page answered HTTP {result.status} to the scraper."
    return "The scraper returned no content for the page."


def _looks_like_listing(result: _Result) -> bool:
    text = f"{result.title} {result.description} {result.markdown[:2000]}"
    return bool(_LISTING_URL.search(result.url) or _LISTING_TEXT.search(text))


def _is_posting_url(url: str) -> bool:
    return bool(_POSTING_URL.search(urlsplit(url).path))


def _on_domains(host: str, domains: Sequence[str]) -> bool:
    return any(host == domain or host.endswith(f".{domain}") for domain in domains)


def _bare_host(value: str) -> str:
    text = value.strip().lower()
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    return host.removeprefix("www.")


def _clean_url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _retry_after(response: Any) -> float | None:
    value = getattr(response, "headers", {}).get("retry-after", "")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _seconds_until(http_date: str) -> float:
    try:
        moment = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() - time.time()


def _milliseconds(seconds: float) -> int:
    return int(seconds * 1000)


def _rate_limited(wait: float) -> UpstreamError:
    return UpstreamError(
        SERVICE,
        "rate limited",
        retryable=True,
        retry_after=wait,
        code="scraper_rate_limited",
    )


def _translate(exc: FirecrawlError, action: str) -> Exception:
    if isinstance(exc, PaymentRequiredError):
        logger.error("firecrawl credits exhausted", extra=log_fields(action=action))
        return ProviderFailedError(
            SERVICE, "scraper_credits_exhausted", "the scraper has no credits left"
        )
    if isinstance(exc, UnauthorizedError):
        logger.error("firecrawl rejected the API key", extra=log_fields(action=action))
        return ProviderFailedError(
            SERVICE, "scraper_unauthorized", "the scraper rejected the API key"
        )
    status = exc.status_code
    if action == "scrape":
        return _page_error(exc, status)
    if status is not None and 400 <= status < 500 and status not in (408, 409):
        logger.error(
            "firecrawl rejected the search",
            extra=log_fields(status=status, code=exc.code, keys=_detail_keys(exc)),
        )
        return ProviderFailedError(
            SERVICE, "scraper_rejected", f"the scraper rejected the search ({status})"
        )
    return UpstreamError(
        SERVICE,
        f"search failed (status {status})",
        retryable=True,
        code="scraper_unavailable",
    )


def _detail_keys(exc: FirecrawlError) -> str | None:
    # A 400 after an SDK upgrade names the unrecognised option keys (FC-2).
    try:
        details = exc.response.json().get("details")
    except (AttributeError, ValueError):
        return None
    if not isinstance(details, list):
        return None
    keys = [
        str(key)
        for detail in details
        if isinstance(detail, dict)
        for key in detail.get("keys") or []
    ]
    return ",".join(keys) or None


def _page_error(exc: FirecrawlError, status: int | None) -> FetchError:
    if isinstance(exc, DNSResolutionError):
        return FetchError("dns_error", "The page's host name did not resolve.")
    if isinstance(exc, TLSError):
        return FetchError("tls_error", "The page's TLS connection failed.")
    transient = status is None or status >= 500 or status in (408, 409)
    return FetchError(
        "scraper_error",
        f"The scraper could not read the page (status {status}).",
        retryable=transient,
        status=status,
    )


def _transport_error(exc: httpx.HTTPError, action: str) -> Exception:
    if action == "scrape" and isinstance(exc, httpx.TimeoutException):
        return FetchError(
            "timeout", "The scraper did not answer in time.", retryable=True
        )
    if action == "scrape":
        return FetchError(
            "network_error", "The connection to the scraper failed.", retryable=True
        )
    return UpstreamError(
        SERVICE, "search did not answer", retryable=True, code="scraper_unavailable"
    )
