"""The search request a frontend sends, and how it becomes a message."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jobsearch.errors import InvalidMessageError
from jobsearch.jsonbody import decode_json
from jobsearch.message import (
    DEFAULT_LIMIT,
    MAX_URLS,
    HttpUrl,
    Location,
    Query,
    SearchMessage,
    field_errors,
    new_search_id,
    utcnow,
)


class RequestFieldsError(InvalidMessageError):
    """The body is JSON but some fields are invalid; carries one entry per field."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__("invalid_request", "some fields are invalid", status=422)
        self.fields = fields


class SearchRequest(BaseModel):
    """The body of `POST /jobs-search`, as the original frontend sends it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    search_query: Query | None = Field(default=None, alias="searchQuery")
    query: Query | None = None
    location: Location | None = None
    remote: bool | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=100)
    urls: list[HttpUrl] = Field(default_factory=list, max_length=MAX_URLS)

    @model_validator(mode="after")
    def _one_query(self) -> SearchRequest:
        if self.search_query is None and self.query is None:
            raise ValueError("searchQuery is required")
        if self.search_query and self.query and self.search_query != self.query:
            raise ValueError("searchQuery and query differ; send one of them")
        return self

    @property
    def text(self) -> str:
        """The search text, whichever field carried it."""
        return self.search_query or self.query or ""


def parse_request(body: bytes) -> SearchRequest:
    """Validate the raw body; raises `InvalidMessageError` for 400 or 422."""
    # Checked first for what pydantic lets pass: a repeated key, deep nesting.
    decode_json(body)
    try:
        return SearchRequest.model_validate_json(body)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise InvalidMessageError(
                "malformed_json", "the request body is not valid JSON"
            ) from None
        if any(error["type"] == "model_type" for error in exc.errors()):
            raise InvalidMessageError(
                "invalid_request", "the request body must be a JSON object", status=422
            ) from None
        raise RequestFieldsError(field_errors(exc)) from None


def to_message(
    request: SearchRequest,
    *,
    user_id: uuid.UUID | None,
    time_window: str,
    trace_id: str,
) -> SearchMessage:
    """The version 1 message for this request."""
    return SearchMessage(
        search_id=new_search_id(),
        user_id=user_id,
        query=request.text,
        location=request.location,
        remote=request.remote,
        limit=request.limit,
        urls=request.urls,
        tbs=time_window,
        requested_at=utcnow(),
        trace_id=trace_id,
    )
