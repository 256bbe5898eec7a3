"""Strict JSON for request bodies, read the same way by both apps.

Python's parser lets a repeated key silently win; two services reading one body
differently is how smuggling starts, so a repeated key is refused outright.
"""

from __future__ import annotations

import json

from jobsearch.errors import InvalidMessageError


class _DuplicateKeyError(InvalidMessageError, ValueError):
    """A JSON object repeats a key, so its meaning is ambiguous."""


def decode_json(body: bytes) -> object:
    """The body's JSON value.

    Raises `InvalidMessageError` (400) for an empty, non-UTF-8, malformed, too deeply
    nested or ambiguous body; `JSONDecodeError` details never reach the caller.
    """
    if not body.strip():
        raise InvalidMessageError("empty_body", "the request body is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidMessageError("malformed_json", "the body is not UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except RecursionError:
        raise InvalidMessageError(
            "malformed_json", "the JSON nests too deeply"
        ) from None
    except _DuplicateKeyError:
        raise
    except ValueError:
        raise MalformedJsonError(text) from None


class MalformedJsonError(InvalidMessageError):
    """The body is not JSON; `text` lets a caller recognise a known wrong format."""

    def __init__(self, text: str) -> None:
        super().__init__("malformed_json", "the body is not valid JSON")
        self.text = text


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKeyError("duplicate_key", "a JSON object repeats a key")
    return result
