"""What the HTTP Sink puts on the wire for a batch: URL, headers and body.

With `request.body.format=string` the real connector sends the Java `toString()` of the
converted value, so a JSON object arrives as `{k=v, k2=v2}`; it is reproduced here so
users see the damage before a real connector does it to them.
"""

from __future__ import annotations

import json
from base64 import b64encode
from collections.abc import Sequence

from jobsearch.connector.config import ConnectorConfig
from jobsearch.emulator.log import Record

USER_AGENT = "jobsearch-emulator (Confluent HttpSink emulation)"


def render_url(template: str, record: Record) -> str:
    """Expand `${topic}` and `${key}` (the key as UTF-8 text, `null` when absent)."""
    key = record.key.decode("utf-8", "replace") if record.key is not None else "null"
    return template.replace("${topic}", record.topic).replace("${key}", key)


def request_headers(
    config: ConnectorConfig, *, with_body: bool
) -> list[tuple[str, str]]:
    """Configured headers then sensitive headers, plus Basic auth when configured."""
    headers = config.header_list()
    if not with_body:
        headers = [
            (name, value) for name, value in headers if name.lower() != "content-type"
        ]
    if config.auth_type == "BASIC":
        password = config.connection_password
        secret = password.get_secret_value() if password else ""
        token = b64encode(f"{config.connection_user or ''}:{secret}".encode()).decode()
        headers.append(("Authorization", f"Basic {token}"))
    return headers


def render_body(config: ConnectorConfig, values: Sequence[object]) -> bytes:
    """The request body for converted record values, per the body and batch settings."""
    if config.request_body_format == "json":
        items = [_json(value) for value in values]
        if config.batch_json_as_array:
            return ("[" + ",".join(items) + "]").encode()
    else:
        items = [java_string(value) for value in values]
    if len(items) == 1 and not (config.batch_prefix or config.batch_suffix):
        return items[0].encode()
    joined = config.batch_separator.join(items)
    return (config.batch_prefix + joined + config.batch_suffix).encode()


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def java_string(value: object) -> str:
    """`String.valueOf` of the Map/List/Long/Double a schemaless JSON value becomes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        inner = ", ".join(f"{key}={java_string(item)}" for key, item in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(java_string(item) for item in value) + "]"
    if isinstance(value, float):
        return _java_double(value)
    return str(value)


def _java_double(value: float) -> str:
    if value.is_integer() and abs(value) < 1e7:
        return f"{value:.1f}"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)
    mantissa, _, exponent = f"{value:e}".partition("e")
    digits = mantissa.rstrip("0")
    digits = digits + "0" if digits.endswith(".") else digits
    return f"{digits}E{int(exponent)}"
