"""Read what the HTTP Sink connector delivers: one record, or an array of them.

The body is parsed as JSON whatever the Content-Type says (the connector's default is
not documented), except for types that can never carry JSON. A body in the
connector's `string` format (`{key=value, ...}`) is named as such, because the fix is
in the connector config, not in the record.
"""

from __future__ import annotations

import re

from jobsearch.errors import InvalidMessageError
from jobsearch.jsonbody import MalformedJsonError, decode_json
from jobsearch.message import SearchMessage, parse_message

MAX_MESSAGES = 100
NON_JSON_TYPES = (
    "multipart/",
    "image/",
    "audio/",
    "video/",
    "font/",
    "application/x-www-form-urlencoded",
    "application/zip",
    "application/gzip",
    "application/pdf",
)
# Java's Map.toString(): `{userId=..., searchQuery=...}`.
_STRING_FORMAT = re.compile(r"^\s*\[?\s*\{\s*[A-Za-z_][\w.-]*\s*=")


def check_content_type(content_type: str | None) -> None:
    """Raise 415 for a media type that cannot be JSON."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type.startswith(NON_JSON_TYPES):
        raise InvalidMessageError(
            "unsupported_media_type",
            "the record must be JSON; this media type cannot carry it",
            status=415,
        )


def parse_delivery(body: bytes) -> list[SearchMessage]:
    """Every search in the body, in order.

    Raises `InvalidMessageError` (400/422) naming what is wrong.
    """
    data = _decode(body)
    items = data if isinstance(data, list) else [data]
    if not items:
        raise InvalidMessageError("empty_batch", "the array holds no record")
    if len(items) > MAX_MESSAGES:
        raise InvalidMessageError(
            "batch_too_large", f"at most {MAX_MESSAGES} records per request"
        )
    return [parse_message(item) for item in items]


def _decode(body: bytes) -> object:
    try:
        return decode_json(body)
    except MalformedJsonError as exc:
        if _STRING_FORMAT.match(exc.text):
            raise InvalidMessageError(
                "string_body_format",
                "the body is in the connector's string format; "
                "set request.body.format=json in the connector config",
            ) from None
        raise
