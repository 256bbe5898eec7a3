"""OpenAPI 3.1 documents of both apps, built from the same pydantic models they use."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

REF = "#/components/schemas/{model}"


class ErrorBody(BaseModel):
    """Every non-2xx answer of both apps."""

    error: str
    message: str


def schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """Component schemas for `models`, referenced as `#/components/schemas/<Name>`."""
    _, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template=REF, by_alias=True
    )
    return dict(definitions.get("$defs", {}))


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": REF.format(model=name)}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    """An `application/json` content map."""
    return {"application/json": {"schema": schema}}


def json_answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A response object with a JSON body of `schema`."""
    return {"description": description, "content": json_content(schema)}


def edge_posts(path: str, operation_id: str, post: dict[str, Any]) -> dict[str, Any]:
    """`POST path`, and the same operation at the Edge Function path."""
    return {
        path: {"post": {**post, "operationId": operation_id}},
        f"/functions/v1{path}": {
            "post": {**post, "operationId": f"{operation_id}EdgePath"}
        },
    }


def error_responses(*statuses: int) -> dict[str, Any]:
    """Responses for error statuses, each with the shared error body."""
    return {
        str(status): json_answer(_REASONS.get(status, "error"), ref("ErrorBody"))
        for status in statuses
    }


def operational_paths() -> dict[str, Any]:
    """`/healthz`, `/readyz` and `/metrics`, the same on both apps."""
    status_object = {"type": "object", "additionalProperties": True}
    return {
        "/healthz": {
            "get": {
                "summary": "The process is up",
                "operationId": "healthz",
                "responses": {"200": json_answer("up", status_object)},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Dependencies answer",
                "operationId": "readyz",
                "responses": {
                    "200": json_answer("ready", status_object),
                    "503": json_answer("a dependency is down", status_object),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "responses": {
                    "200": {
                        "description": "text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def document(
    title: str, paths: dict[str, Any], components: dict[str, Any]
) -> dict[str, Any]:
    """A complete OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": {**paths, **operational_paths()},
        "components": components,
    }


def openapi_endpoint(
    build: Callable[[], dict[str, Any]],
) -> Callable[[Request], Awaitable[Response]]:
    """A route handler serving the document that `build()` returns, built once."""
    built = functools.cache(build)

    async def endpoint(request: Request) -> Response:
        return JSONResponse(built())

    return endpoint


_REASONS = {
    400: "malformed body",
    401: "missing or invalid credentials",
    404: "not found",
    413: "body too large",
    415: "unsupported media type",
    422: "invalid fields",
    429: "too many requests",
    502: "the queue rejected the record",
    503: "temporarily unavailable; retry after Retry-After seconds",
}
