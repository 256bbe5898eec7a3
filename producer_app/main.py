"""producer_app: validate a job search, produce it to Kafka, answer 202 at once."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jobsearch.application import build_app
from jobsearch.errors import (
    AuthenticationError,
    InvalidMessageError,
    UpstreamError,
)
from jobsearch.health import check, check_store, readiness
from jobsearch.http import (
    JsonCORSMiddleware,
    error_response,
    read_body,
    retry_later,
    trace_id_from,
)
from jobsearch.logs import log_fields
from jobsearch.settings import Settings, load_settings
from jobsearch.store import open_store
from producer_app.admission import Admission
from producer_app.auth import SERVICE as AUTH_SERVICE
from producer_app.auth import TokenVerifier, auth_unavailable
from producer_app.confluent import ConfluentProducer, build_rest_client
from producer_app.openapi import build_document
from producer_app.queued import QueuedNotes
from producer_app.request import RequestFieldsError, parse_request, to_message
from producer_app.status import search_status
from producer_app.streaming import StreamingProducer

logger = logging.getLogger("jobsearch.producer")

JSON_TYPES = ("application/json",)


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the producer app; settings are read from the environment when omitted."""
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The key fetcher gets its own client: the REST client carries Confluent's
        # Basic credentials, which must never reach the JWKS host.
        async with (
            build_rest_client(settings) as client,
            httpx.AsyncClient(timeout=5.0, trust_env=False) as auth_client,
        ):
            store = open_store(settings)
            await store.open()
            app.state.producer = (
                StreamingProducer(client, settings)
                if settings.produce_mode == "stream"
                else ConfluentProducer(client, settings)
            )
            app.state.verifier = TokenVerifier(settings, auth_client)
            app.state.store = store
            app.state.queued = QueuedNotes(store)
            app.state.queued.start()
            logger.info(
                "producer ready",
                extra=log_fields(
                    rest_host=httpx.URL(settings.rest_url).host,
                    produce_mode=settings.produce_mode,
                    auth=_auth_mode(settings),
                    store=type(store).__name__,
                ),
            )
            try:
                yield
            finally:
                if isinstance(app.state.producer, StreamingProducer):
                    await app.state.producer.aclose()
                await app.state.queued.close()
                await store.close()

    app = build_app(
        "producer",
        settings,
        [
            Route("/jobs-search", submit_search, methods=["POST"]),
            Route("/functions/v1/jobs-search", submit_search, methods=["POST"]),
            Route("/jobs-search/{search_id}", search_status, methods=["GET"]),
        ],
        readyz=readyz,
        openapi=build_document,
        lifespan=lifespan,
        middleware=[
            Middleware(
                JsonCORSMiddleware,
                allow_origins=settings.cors_allow_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=[
                    "authorization",
                    "content-type",
                    "x-client-info",
                    "apikey",
                    "x-request-id",
                    "traceparent",
                ],
                expose_headers=["x-request-id", "retry-after", "location"],
                max_age=600,
            ),
        ],
    )
    app.state.admission = Admission(
        per_caller_per_minute=settings.admission_per_user_per_minute,
        per_caller_burst=settings.admission_per_user_burst,
        global_per_second=settings.admission_global_per_second,
    )
    return app


async def submit_search(request: Request) -> Response:
    """Validate, authenticate, produce, answer 202 with the search id."""
    settings: Settings = request.app.state.settings
    trace_id = trace_id_from(request.headers)
    request.state.log["trace_id"] = trace_id
    headers = {"X-Request-ID": trace_id}
    try:
        # Authenticate first: a stranger may not hold a connection open with a body.
        user_id = await _authenticate(request, settings)
        search = parse_request(await _json_body(request, settings))
        wait = _admission_wait(request, settings, user_id)
        if wait:
            return _rate_limited(wait, headers)
        message = to_message(
            search,
            user_id=user_id,
            time_window=settings.search_time_window,
            trace_id=trace_id,
        )
        request.state.log["search_id"] = str(message.search_id)
        await request.app.state.producer.produce(message)
    except RequestFieldsError as exc:
        return error_response(
            exc.status, exc.code, exc.message, headers=headers, fields=exc.fields
        )
    except InvalidMessageError as exc:
        return error_response(exc.status, exc.code, exc.message, headers=headers)
    except AuthenticationError as exc:
        headers["WWW-Authenticate"] = 'Bearer realm="jobs-search"'
        return error_response(401, "unauthorized", str(exc), headers=headers)
    except UpstreamError as exc:
        request.state.log["upstream"] = exc.code
        request.app.state.metrics.produce.labels(exc.code or "failed").inc()
        return _upstream_failure(exc, headers)

    request.app.state.metrics.produce.labels("ok").inc()
    owner = user_id or uuid.UUID(settings.local_user_id)
    await request.app.state.queued.note(message, owner)
    status_url = f"/jobs-search/{message.search_id}"
    return JSONResponse(
        {
            "success": True,
            "status": "queued",
            "jobsInserted": 0,
            "message": "Search queued; results arrive as they are found.",
            "search_id": str(message.search_id),
            "status_url": status_url,
            "trace_id": trace_id,
        },
        status_code=202,
        headers={**headers, "Location": status_url},
    )


async def readyz(request: Request) -> Response:
    """Ready when the REST endpoint and the store both answer."""
    producer: ConfluentProducer = request.app.state.producer
    checks = {
        "queue": await check(producer.ping()),
        "store": await check_store(request.app.state.store),
    }
    return readiness(checks)


async def _json_body(request: Request, settings: Settings) -> bytes:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise InvalidMessageError(
            "unsupported_media_type",
            "send the search as JSON with Content-Type: application/json",
            status=415,
        )
    return await read_body(
        request,
        settings.max_request_bytes,
        read_seconds=settings.body_read_timeout_seconds,
    )


def _auth_mode(settings: Settings) -> str:
    if settings.supabase_jwks_url and settings.supabase_jwt_secret:
        return "supabase-jwks+hs256"
    if settings.supabase_jwks_url:
        return "supabase-jwks"
    return "supabase-hs256" if settings.supabase_jwt_secret else "anonymous"


def _admission_wait(
    request: Request, settings: Settings, user_id: uuid.UUID | None
) -> int:
    admission: Admission = request.app.state.admission
    address = request.client.host if request.client else "unknown"
    if user_id is None and address in settings.admission_exempt_addresses:
        # Local tools (dev, demo, bench) share one address: only the global cap.
        return admission.admit_global()
    return admission.admit(str(user_id) if user_id else f"address:{address}")


def _rate_limited(wait: int, headers: dict[str, str]) -> Response:
    return retry_later(
        429, "rate_limited", "too many searches; try again later", wait, headers=headers
    )


async def _authenticate(request: Request, settings: Settings) -> uuid.UUID | None:
    if not settings.supabase_auth_enabled:
        return None
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.user_id(request.headers.get("authorization"))


def _upstream_failure(exc: UpstreamError, headers: dict[str, str]) -> Response:
    if exc.service == AUTH_SERVICE:
        return auth_unavailable(headers)
    if not exc.retryable:
        return error_response(
            502,
            "queue_rejected",
            "the queue rejected the search; the service is misconfigured",
            headers=headers,
        )
    if exc.code == "rate_limited":
        error, retry_after = "rate_limited", 10
    else:
        error, retry_after = "queue_unavailable", 5
    return retry_later(
        503, error, "the queue is busy; try again shortly", retry_after, headers=headers
    )
