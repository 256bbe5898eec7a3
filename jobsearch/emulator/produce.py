"""One REST v3 `ProduceRequest` turned into a record, and its delivery report.

Two failure kinds, as in kafka-rest: a request that cannot be deserialized (unknown
field, header value not base64) is an HTTP 400 when it is the first record; data that
does not fit its `type` (a STRING that is not a string) is a per-record report inside
the HTTP 200.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode
from datetime import UTC, datetime
from typing import Any

from jobsearch.emulator.log import NewRecord, Record
from jobsearch.errors import InvalidMessageError

DESERIALIZE = "deserialize"
SERIALIZE = "serialize"
_FIELDS = frozenset({"partition_id", "headers", "key", "value", "timestamp"})
_SCHEMA_TYPES = frozenset({"AVRO", "JSONSCHEMA", "PROTOBUF"})


def parse_record(body: object, partitions: int) -> NewRecord:
    """Validate one decoded request object; raises `InvalidMessageError`.

    The error's `code` says which kind it is and `status` is the Confluent error_code.
    """
    if not isinstance(body, dict):
        raise _shape("Cannot deserialize a produce request that is not a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise _shape(f'Unrecognized field "{unknown[0]}"')
    key_type, key = _data(body.get("key"), "key")
    value_type, value = _data(body.get("value"), "value")
    return NewRecord(
        key=key,
        value=value,
        headers=_headers(body.get("headers")),
        timestamp_ms=_timestamp(body.get("timestamp")),
        key_type=key_type,
        value_type=value_type,
        partition=_partition(body.get("partition_id"), partitions),
    )


def success_report(cluster_id: str, record: Record) -> dict[str, Any]:
    """The `ProduceResponse` for a stored record."""
    report: dict[str, Any] = {
        "error_code": 200,
        "cluster_id": cluster_id,
        "topic_name": record.topic,
        "partition_id": record.partition,
        "offset": record.offset,
        "timestamp": format_timestamp(record.timestamp_ms),
    }
    if record.key is not None:
        report["key"] = {"type": record.key_type, "size": len(record.key)}
    if record.value is not None:
        report["value"] = {"type": record.value_type, "size": len(record.value)}
    return report


def format_timestamp(timestamp_ms: int) -> str:
    """RFC 3339 in UTC, with milliseconds only when there are any (like Instant)."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    spec = "milliseconds" if timestamp_ms % 1000 else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def _shape(message: str) -> InvalidMessageError:
    return InvalidMessageError(DESERIALIZE, message, status=400)


def _data(part: object, name: str) -> tuple[str | None, bytes | None]:
    if part is None:
        return None, None
    if not isinstance(part, dict):
        raise _shape(f"Cannot deserialize {name}: expected an object")
    kind, data = part.get("type"), part.get("data")
    if kind in _SCHEMA_TYPES or kind is None:
        raise InvalidMessageError(
            SERIALIZE,
            f"Bad Request: {name} needs type BINARY, JSON or STRING; schema formats "
            "need Schema Registry, which Confluent Cloud's REST API does not support",
            status=400,
        )
    if data is None:
        return str(kind), None
    return str(kind), _serialize(str(kind), data)


def _serialize(kind: str, data: object) -> bytes:
    if kind == "JSON":
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    if kind == "STRING":
        if isinstance(data, str):
            return data.encode()
        problem = "is not a string"
    elif kind == "BINARY":
        problem = "is not a base64 string"
        if isinstance(data, str):
            try:
                return b64decode(data, validate=True)
            except binascii.Error:
                problem = "is not a valid base64 string"
    else:
        problem = f"has unknown type {kind}"
    shown = json.dumps(data)[:64]
    raise InvalidMessageError(
        SERIALIZE, f"Bad Request: data={shown} {problem}.", status=400
    )


def _headers(raw: object) -> tuple[tuple[str, bytes], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _shape("Cannot deserialize headers: expected an array")
    headers = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _shape("Cannot deserialize a header: it needs a string name")
        headers.append((item["name"], _header_value(item.get("value"))))
    return tuple(headers)


def _header_value(value: object) -> bytes:
    if value is None:
        return b""
    try:
        if not isinstance(value, str) or not value:
            raise binascii.Error
        return b64decode(value, validate=True)
    except binascii.Error:
        raise _shape(
            "Cannot deserialize value of type `byte[]`: header values must be a "
            "base64-encoded String (with '=' padding)"
        ) from None


def _timestamp(raw: object) -> int:
    if raw is None:
        return int(datetime.now(UTC).timestamp() * 1000)
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        moment = None
    if not isinstance(raw, str) or moment is None or moment.tzinfo is None:
        raise _shape("Cannot deserialize timestamp: expected an RFC 3339 date-time")
    return int(moment.timestamp() * 1000)


def _partition(raw: object, partitions: int) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise _shape("Cannot deserialize partition_id: expected an integer")
    if not 0 <= raw < partitions:
        raise InvalidMessageError(
            SERIALIZE, "This server does not host this topic-partition.", status=40403
        )
    return raw
