"""sink_app: take a record from the HTTP Sink connector and run its search.

Status codes are chosen for the connector: 2xx only once the search's work is stored,
4xx only for a record that can never succeed (the shipped config does not retry them),
503 with Retry-After for anything that may succeed later.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jobsearch.application import build_app
from jobsearch.errors import ConfigurationError, InvalidMessageError
from jobsearch.health import check_store, readiness
from jobsearch.http import error_response, read_body, retry_later
from jobsearch.logs import log_fields
from jobsearch.settings import Settings, load_settings
from jobsearch.store import Store, open_store
from sink_app.delivery import check_content_type, parse_delivery
from sink_app.openapi import build_document
from sink_app.pipeline.enrich import Enricher
from sink_app.pipeline.fetch import build_fetch_client
from sink_app.pipeline.runner import Outcome, SearchRunner
from sink_app.pipeline.source import SearchProvider
from sink_app.services import pipeline_services

logger = logging.getLogger("jobsearch.sink")


def create_app(
    settings: Settings | None = None,
    *,
    provider: SearchProvider | None = None,
    enricher: Enricher | None = None,
    store: Store | None = None,
) -> Starlette:
    """Build the sink app; refuses to build in production without a bearer token."""
    settings = settings or load_settings()
    if not settings.sink_tokens:
        if settings.is_production:
            raise ConfigurationError("production requires SINK_BEARER_TOKEN")
        logger.warning("SINK_BEARER_TOKEN is unset: the sink accepts any caller")
    if settings.sink_deadline_seconds <= settings.scrape_timeout_seconds:
        logger.warning(
            "SINK_DEADLINE_SECONDS is not above SCRAPE_TIMEOUT_SECONDS: a slow page "
            "is cut off by the deadline on every delivery until it is given up"
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        opened = store or open_store(settings)
        await opened.open()
        async with (
            build_fetch_client(settings) as client,
            pipeline_services(
                settings, opened, client, provider=provider, enricher=enricher
            ) as services,
        ):
            app.state.store = opened
            app.state.runner = SearchRunner(
                settings,
                opened,
                services.source,
                services.reader,
                services.enricher,
                metrics=app.state.metrics,
                reader_name=services.description["reader"],
            )
            logger.info("sink ready", extra=log_fields(**services.description))
            try:
                yield
            finally:
                await opened.close()

    return build_app(
        "sink",
        settings,
        [
            Route("/process-job-search", process_search, methods=["POST"]),
            Route("/functions/v1/process-job-search", process_search, methods=["POST"]),
        ],
        readyz=readyz,
        openapi=build_document,
        lifespan=lifespan,
    )


async def process_search(request: Request) -> Response:
    """Authenticate, parse, run each search, answer for the connector."""
    settings: Settings = request.app.state.settings
    deadline = time.monotonic() + settings.sink_deadline_seconds
    if not _authorised(request, settings):
        return error_response(
            401,
            "unauthorized",
            "a valid bearer token is required",
            headers={"WWW-Authenticate": 'Bearer realm="process-job-search"'},
        )
    try:
        check_content_type(request.headers.get("content-type"))
        body = await read_body(
            request,
            settings.max_sink_request_bytes,
            read_seconds=settings.body_read_timeout_seconds,
        )
        messages = parse_delivery(body)
    except InvalidMessageError as exc:
        return error_response(exc.status, exc.code, exc.message)

    runner: SearchRunner = request.app.state.runner
    outcomes = []
    for message in messages:
        request.state.log.update(
            search_id=str(message.search_id), trace_id=message.trace_id
        )
        outcome = await runner.run(message, deadline=deadline)
        request.state.log["outcome"] = outcome.kind
        request.app.state.metrics.deliveries.labels(outcome.kind).inc()
        outcomes.append(outcome)
        if outcome.kind == "retry":
            return _retry_later(outcome, settings)
    return JSONResponse(_results_body(outcomes))


async def readyz(request: Request) -> Response:
    """Ready when the store answers."""
    return readiness({"store": await check_store(request.app.state.store)})


def _authorised(request: Request, settings: Settings) -> bool:
    tokens = settings.sink_tokens
    if not tokens:
        return True
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    given = presented.strip().encode()
    # Compare with every token, so timing does not reveal which one nearly matched.
    matches = [
        hmac.compare_digest(given, t.get_secret_value().encode()) for t in tokens
    ]
    return any(matches)


def _retry_later(outcome: Outcome, settings: Settings) -> Response:
    return retry_later(
        503,
        outcome.reason or "retry_later",
        "the search is not finished; its progress is saved, deliver it again",
        settings.sink_retry_after_seconds,
        search_id=str(outcome.search_id),
    )


def _results_body(outcomes: list[Outcome]) -> dict[str, object]:
    results: list[dict[str, object]] = [
        {
            "search_id": str(outcome.search_id),
            "status": outcome.kind,
            "jobs_found": outcome.jobs_found,
            "reason": outcome.reason,
        }
        for outcome in outcomes
    ]
    return results[0] if len(results) == 1 else {"results": results}
