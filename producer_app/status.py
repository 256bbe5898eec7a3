"""`GET /jobs-search/{search_id}`: a search's status, counts, errors and jobs."""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobsearch.errors import AuthenticationError, StoreError, UpstreamError
from jobsearch.http import error_response, retry_later
from jobsearch.settings import Settings
from jobsearch.store import SearchSummary, Store
from producer_app.auth import TokenVerifier, auth_unavailable

JOB_FIELDS = (
    "id",
    "title",
    "company",
    "company_logo",
    "location",
    "remote_type",
    "employment_type",
    "experience_level",
    "salary_min",
    "salary_max",
    "salary_currency",
    "salary_period",
    "tags",
    "apply_url",
    "posted_at",
    "expires_at",
    "source_id",
    "trace_id",
)


async def search_status(request: Request) -> Response:
    """Read the search from the store; 404 when unknown."""
    try:
        search_id = uuid.UUID(request.path_params["search_id"])
    except ValueError:
        return error_response(400, "invalid_search_id", "search_id must be a UUID")
    request.state.log["search_id"] = str(search_id)

    store: Store = request.app.state.store
    try:
        summary = await store.summary(search_id)
        readable = summary is not None and await _may_read(request, summary)
    except UpstreamError:
        return auth_unavailable()
    except StoreError:
        return retry_later(
            503,
            "store_unavailable",
            "the search store is not answering; try again shortly",
            5,
        )
    if summary is None or not readable:
        return error_response(404, "search_not_found", "no search has this id")
    settings: Settings = request.app.state.settings
    return JSONResponse(summary_body(summary, settings.stalled_after_seconds))


async def _may_read(request: Request, summary: SearchSummary) -> bool:
    """With Supabase auth on, only the search's owner may read it."""
    settings: Settings = request.app.state.settings
    if not settings.supabase_auth_enabled:
        return True
    verifier: TokenVerifier = request.app.state.verifier
    try:
        user_id = await verifier.user_id(request.headers.get("authorization"))
    except AuthenticationError:
        return False
    return user_id == summary.user_id


def summary_body(summary: SearchSummary, stalled_after: float) -> dict[str, Any]:
    """The JSON shape of a search summary.

    `stalled` flags a search that is still queued or processing but has not moved for
    `stalled_after` seconds: its record is most likely in the connector's error topic.
    """
    # Jobs are projected below, so asdict need not deep-copy their raw data first.
    body = asdict(replace(summary, jobs=[]))
    idle = (datetime.now(UTC) - summary.updated_at).total_seconds()
    body["stalled"] = summary.status in ("queued", "processing") and (
        idle > stalled_after
    )
    body["jobs"] = [
        {name: job.get(name) for name in JOB_FIELDS} for job in summary.jobs
    ]
    for key, value in body.items():
        if isinstance(value, uuid.UUID):
            body[key] = str(value)
        elif isinstance(value, datetime):
            body[key] = value.isoformat()
    return body
