"""The sink's OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from jobsearch.message import LegacyMessage, SearchMessage
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


class DeliveryResult(BaseModel):
    """The 200 answer for one search."""

    search_id: str
    status: str
    jobs_found: int
    reason: str | None


def build_document() -> dict[str, Any]:
    """The sink's OpenAPI 3.1 document."""
    record = {"oneOf": [ref("SearchMessage"), ref("LegacyMessage")]}
    body = {"oneOf": [record, {"type": "array", "items": record, "minItems": 1}]}
    process = {
        "summary": "Run one delivered search",
        "security": [{"connectorToken": []}],
        "requestBody": {"required": True, "content": json_content(body)},
        "responses": {
            "200": json_answer("the search's work is stored", ref("DeliveryResult")),
            **error_responses(400, 401, 413, 415, 422, 503),
        },
    }
    paths = edge_posts("/process-job-search", "processSearch", process)
    components = {
        "schemas": schemas(SearchMessage, LegacyMessage, DeliveryResult, ErrorBody),
        "securitySchemes": {"connectorToken": {"type": "http", "scheme": "bearer"}},
    }
    return document("jobsearch sink", paths, components)
