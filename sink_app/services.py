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
from sink_app.pipeline.firecrawl import (
    FirecrawlScraper,
    FirecrawlSource,
    build_firecrawl_client,
    close_firecrawl_client,
    firecrawl_config,
)
from sink_app.pipeline.openai_enrich import (
    OpenAIEnricher,
    build_openai_client,
    openai_config,
)
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
    firecrawl_settings = firecrawl_config(settings)
    openai_settings = openai_config(settings)
    async with contextlib.AsyncExitStack() as stack:
        reader: PageReader = PageFetcher(client, settings)
        if firecrawl_settings is not None:
            firecrawl = build_firecrawl_client(firecrawl_settings)
            stack.push_async_callback(close_firecrawl_client, firecrawl)
            reader = FirecrawlScraper(firecrawl, firecrawl_settings)
            user_sources = getattr(store, "user_sources", None)
            provider = provider or FirecrawlSource(
                firecrawl, firecrawl_settings, user_sources=user_sources
            )
        if enricher is None and openai_settings is not None:
            model = build_openai_client(openai_settings)
            stack.push_async_callback(model.close)
            enricher = OpenAIEnricher(model, openai_settings)
        chosen = enricher or LocalEnricher()
        description = {
            "source": provider.name if provider else "urls-only",
            "reader": "firecrawl" if firecrawl_settings else "keyless",
            "enrichment": chosen.name,
            "store": type(store).__name__,
        }
        yield Services(Source(provider), reader, chosen, description)
