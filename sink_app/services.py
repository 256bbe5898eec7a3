"""Which search provider, page reader and enricher the sink uses, chosen by settings.

With no keys set, the sink reads the message's URLs with the keyless fetcher and
enriches locally. `FIRECRAWL_API_KEY` adds Firecrawl search and scraping;
`OPENAI_API_KEY` adds model enrichment. Tests pass their own provider or enricher.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from jobsearch.settings import Settings
from jobsearch.store import Store
from sink_app.pipeline.enrich import Enricher, LocalEnricher
from sink_app.pipeline.fetch import PageFetcher, PageReader
from sink_app.pipeline.source import SearchProvider, Source


@dataclass(frozen=True)
class Services:
    """The pipeline's external parts for one app lifetime."""

    source: Source
    reader: PageReader
    enricher: Enricher
    description: dict[str, str]


@contextlib.asynccontextmanager
async def pipeline_services(
    settings: Settings,
    store: Store,
    client: httpx.AsyncClient,
    *,
    provider: SearchProvider | None = None,
    enricher: Enricher | None = None,
) -> AsyncIterator[Services]:
    """Open the configured clients, yield the services, close the clients."""
    async with contextlib.AsyncExitStack() as stack:
        reader: PageReader = PageFetcher(client, settings)
        if settings.firecrawl_api_key:
            reader, found = await _firecrawl(settings, store, stack)
            provider = provider or found
        if enricher is None and settings.openai_api_key:
            enricher = await _openai(settings, stack)
        chosen = enricher or LocalEnricher()
        description = {
            "source": provider.name if provider else "urls-only",
            "reader": "keyless" if isinstance(reader, PageFetcher) else "firecrawl",
            "enrichment": chosen.name,
            "store": type(store).__name__,
        }
        yield Services(Source(provider), reader, chosen, description)


# The SDKs are imported only when selected: together they cost about 45 MB of memory.


async def _firecrawl(
    settings: Settings, store: Store, stack: contextlib.AsyncExitStack
) -> tuple[PageReader, SearchProvider]:
    from sink_app.pipeline import firecrawl

    config = firecrawl.firecrawl_config(settings)
    assert config is not None
    client = firecrawl.build_firecrawl_client(config)
    stack.push_async_callback(firecrawl.close_firecrawl_client, client)
    user_sources = getattr(store, "user_sources", None)
    source = firecrawl.FirecrawlSource(client, config, user_sources=user_sources)
    return firecrawl.FirecrawlScraper(client, config), source


async def _openai(settings: Settings, stack: contextlib.AsyncExitStack) -> Enricher:
    from sink_app.pipeline import openai_enrich

    config = openai_enrich.openai_config(settings)
    assert config is not None
    model = openai_enrich.build_openai_client(config)
    stack.push_async_callback(model.close)
    return openai_enrich.OpenAIEnricher(model, config)
