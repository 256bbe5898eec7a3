"""The message contract between producer and sink, defined once.

Version 1 is what `producer_app` produces and `sink_app` consumes. Records written by
the original Edge Function are read too, so a team can switch over while such records
are still in the topic; their `search_id` is derived from their fields, so a
redelivery of the same record is recognised.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AnyUrl,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    UrlConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails

from jobsearch.errors import InvalidMessageError

MESSAGE_VERSION: Literal[1] = 1
DEFAULT_LIMIT = 50
MAX_URLS = 20
# A fixed namespace, so the same legacy record always maps to the same search id.
LEGACY_NAMESPACE = uuid.UUID("6f1d9a4e-3c2b-5a7e-9f10-2b3c4d5e6f70")

M = TypeVar("M", bound=BaseModel)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range in UTC") from None


def _no_credentials(value: AnyUrl) -> AnyUrl:
    if value.username or value.password:
        raise ValueError("must not carry a user name or password")
    return value


def _printable(value: str) -> str:
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("must not contain control characters")
    return value


def _rfc3339(value: datetime) -> str:
    return (
        value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


Query = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_printable),
]
Location = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100),
    AfterValidator(_printable),
]
HttpUrl = Annotated[
    AnyUrl,
    UrlConstraints(
        allowed_schemes=["http", "https"], host_required=True, max_length=2048
    ),
    AfterValidator(_no_credentials),
    PlainSerializer(str, return_type=str),
]
UtcDatetime = Annotated[
    datetime, AfterValidator(_utc), PlainSerializer(_rfc3339, return_type=str)
]


class SearchMessage(BaseModel):
    """One job search, as carried by a Kafka record value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = MESSAGE_VERSION
    search_id: uuid.UUID
    user_id: uuid.UUID | None = None
    query: Query
    location: Location | None = None
    remote: bool | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=100)
    urls: list[HttpUrl] = Field(default_factory=list, max_length=MAX_URLS)
    tbs: str = Field(default="qdr:m", min_length=1, max_length=32)
    requested_at: UtcDatetime
    trace_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")

    @field_validator("location")
    @classmethod
    def _empty_location_is_none(cls, value: str | None) -> str | None:
        return value or None

    def to_record_value(self) -> dict[str, Any]:
        """The JSON object produced as the record value."""
        return self.model_dump(mode="json")

    @property
    def record_key(self) -> str:
        """One user's searches share a key (and stay in order); anonymous ones don't."""
        return str(self.user_id or self.search_id)


class LegacyMessage(BaseModel):
    """A record produced by the original Edge Function."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user_id: uuid.UUID = Field(alias="userId")
    search_query: Query = Field(alias="searchQuery")
    location: Location | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=100)
    tbs: str = Field(default="qdr:m", min_length=1, max_length=32)
    timestamp: UtcDatetime

    def upgrade(self) -> SearchMessage:
        """The same search as a version 1 message, with a deterministic id."""
        name = "|".join(
            [
                str(self.user_id),
                self.search_query,
                self.location or "",
                str(self.limit),
                self.tbs,
                _rfc3339(self.timestamp),
            ]
        )
        search_id = uuid.uuid5(LEGACY_NAMESPACE, name)
        return SearchMessage(
            search_id=search_id,
            user_id=self.user_id,
            query=self.search_query,
            location=self.location,
            limit=self.limit,
            tbs=self.tbs,
            requested_at=self.timestamp,
            trace_id=search_id.hex,
        )


def parse_message(data: object) -> SearchMessage:
    """Read one record value in any supported shape.

    Raises `InvalidMessageError` naming the problem; the message never echoes input.
    """
    if not isinstance(data, dict):
        raise InvalidMessageError("invalid_message", "a message must be a JSON object")
    if "version" not in data and "searchQuery" in data:
        return _validate(LegacyMessage, data).upgrade()
    version = data.get("version")
    if version != MESSAGE_VERSION:
        raise InvalidMessageError(
            "unsupported_version",
            f"message version must be {MESSAGE_VERSION}",
            status=422,
        )
    return _validate(SearchMessage, data)


def _validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessageError(
            "invalid_message", describe_validation_error(exc), status=422
        ) from None


def describe_validation_error(exc: ValidationError) -> str:
    """One sentence naming each invalid field, without the values."""
    errors = exc.errors(include_input=False, include_url=False)
    return "; ".join(f"{_field(error)}: {error['msg']}" for error in errors)


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """One entry per invalid field, for a 422 body."""
    return [
        {
            "field": _field(error),
            "message": str(error["msg"]),
            "type": str(error["type"]),
        }
        for error in exc.errors(include_input=False, include_url=False)
    ]


def _field(error: ErrorDetails) -> str:
    return ".".join(str(part) for part in error["loc"]) or "body"


def new_search_id() -> uuid.UUID:
    """A fresh random search id."""
    return uuid.uuid4()


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
