"""The producer's OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from jobsearch.openapi import (
    ErrorBody,
    document,
    edge_posts,
    error_responses,
    json_answer,
    json_content,
    ref,
    schemas,
)
from producer_app.request import SearchRequest


class Accepted(BaseModel):
    """The 202 answer; the first four fields are what the original frontend reads."""

    success: bool
    status: str
    jobsInserted: int
    message: str
    search_id: str
    status_url: str
    trace_id: str


class SearchStatus(BaseModel):
    """A search's status, counts and jobs."""

    search_id: str
    status: str
    query: str
    jobs_found: int
    pages_total: int
    pages_failed: int
    errors: list[dict[str, str]]
    failure_reason: str | None
    stalled: bool
    trace_id: str | None
    jobs: list[dict[str, Any]]


def build_document() -> dict[str, Any]:
    """The producer's OpenAPI 3.1 document."""
    submit = {
        "summary": "Queue a job search",
        "requestBody": {
            "required": True,
            "content": json_content(ref("SearchRequest")),
        },
        "responses": {
            "202": json_answer("queued", ref("Accepted")),
            **error_responses(400, 401, 413, 415, 422, 429, 502, 503),
        },
    }
    status = {
        "summary": "A search's status and jobs",
        "operationId": "searchStatus",
        "parameters": [
            {
                "name": "search_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "format": "uuid"},
            }
        ],
        "responses": {
            "200": json_answer("the search", ref("SearchStatus")),
            **error_responses(400, 404),
        },
    }
    paths = {
        **edge_posts("/jobs-search", "submitSearch", submit),
        "/jobs-search/{search_id}": {"get": status},
    }
    components = {
        "schemas": schemas(SearchRequest, Accepted, SearchStatus, ErrorBody),
        "securitySchemes": {"supabaseJwt": {"type": "http", "scheme": "bearer"}},
    }
    return document("jobsearch producer", paths, components)
