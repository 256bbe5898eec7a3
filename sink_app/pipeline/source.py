"""Source: which pages a search reads.

With `urls` in the message those pages are read as sent. Without them a search
provider finds pages; none is configured on the local defaults, which the search
records as its failure reason instead of silently finding nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from jobsearch.errors import JobSearchError
from jobsearch.message import SearchMessage


@dataclass(frozen=True)
class FoundPage:
    """A page to read; `content` is set when the provider already returned it.

    `skip_reason` names why a provider's result is unusable; such a page is recorded
    as failed and never read.
    """

    url: str
    content: str | None = None
    skip_reason: str | None = None


class NoProviderError(JobSearchError):
    """The search has no URLs and no search provider is configured."""


class ProviderFailedError(JobSearchError):
    """A provider refuses the account (no credits, bad key): fail the search visibly.

    Retrying cannot help until someone acts, so the runner records the search as
    failed with `code` (e.g. `scraper_credits_exhausted`) and `reason` instead.
    """

    def __init__(self, service: str, code: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.code = code
        self.reason = reason


class SearchProvider(Protocol):
    """Finds job pages for a query (Firecrawl in production)."""

    name: str

    async def search(self, message: SearchMessage) -> list[FoundPage]:
        """Pages for the message's query, at most `message.limit`."""


class Source:
    """Turns a message into the pages to read."""

    def __init__(self, provider: SearchProvider | None = None) -> None:
        self._provider = provider

    async def pages(self, message: SearchMessage) -> list[FoundPage]:
        """The message's own URLs, else the provider's results.

        Raises `NoProviderError` when neither exists.
        """
        if message.urls:
            return [FoundPage(url) for url in dict.fromkeys(map(str, message.urls))]
        if self._provider is None:
            raise NoProviderError(
                "no search provider is configured; set FIRECRAWL_API_KEY "
                "or send urls with the search"
            )
        return await self._provider.search(message)
