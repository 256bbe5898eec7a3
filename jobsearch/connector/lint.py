"""Check a connector config for the Cloud defaults that lose or mangle records.

Each finding names the property and says why; `error` findings fail `connector lint`.
Values that are still `${PLACEHOLDER}`s are not judged, so the unrendered file lints.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from jobsearch.connector.config import (
    KNOWN_PROPERTIES,
    document_problems,
    is_known_property,
    parse_headers,
    parse_status_codes,
)
from jobsearch.errors import ConfigurationError

Severity = Literal["error", "warning"]
DEFAULT_SINK_DEADLINE_SECONDS = 25.0
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_SECRET_HEADER = re.compile(r"authorization|token|secret|api[-_]?key", re.IGNORECASE)
_HEADER_START = re.compile(r"(?:^|[|,;\n])\s*[A-Za-z][A-Za-z0-9-]*\s*:")
_INTEGERS = (
    "tasks.max",
    "batch.max.size",
    "max.retries",
    "retry.backoff.ms",
    "http.connect.timeout.ms",
    "http.request.timeout.ms",
)
_CHOICES = {
    "request.method": ("POST",),
    "input.data.format": ("JSON",),
    "behavior.on.null.values": ("ignore",),
    "behavior.on.error": ("ignore", "log"),
    "report.errors.as": ("error_string", "http_response"),
    "retry.backoff.policy": ("EXPONENTIAL_WITH_JITTER", "CONSTANT_VALUE"),
}
_WHY = {
    "request.method": "the sink webhook accepts POST only",
    "input.data.format": "the producer writes JSON values",
    "behavior.on.null.values": "a tombstone has no search to run",
    "behavior.on.error": "`fail` stops the task on the first failed record and "
    "blocks every record behind it until someone restarts the connector",
    "report.errors.as": "the plugin knows no other value",
    "retry.backoff.policy": "the plugin knows no other value",
}


@dataclass(frozen=True)
class Finding:
    """One problem: its severity, the property it concerns and why it matters."""

    severity: Severity
    property: str
    message: str


Rule = Callable[[Mapping[str, str]], Iterator[Finding]]


def lint_document(
    data: object, *, sink_deadline_seconds: float = DEFAULT_SINK_DEADLINE_SECONDS
) -> list[Finding]:
    """The Confluent CLI's structural rules, then `lint_connector` on the entries."""
    problems = [
        Finding("error", key, message) for key, message in document_problems(data)
    ]
    if problems or not isinstance(data, dict):
        return problems
    config = {**data, **data.get("config", {})}
    config.pop("config", None)
    config.pop("offsets", None)
    return lint_connector(config, sink_deadline_seconds=sink_deadline_seconds)


def lint_connector(
    config: Mapping[str, str],
    *,
    sink_deadline_seconds: float = DEFAULT_SINK_DEADLINE_SECONDS,
) -> list[Finding]:
    """Every finding for a flat config map, errors first."""
    judged = {key: value for key, value in config.items() if "${" not in value}
    findings = [
        finding
        for rule in (_unknown_properties, _required, _bearer)
        for finding in rule(config)
    ]
    rules: list[Rule] = [
        _integers,
        _choices,
        _body_format,
        _batching,
        _retry_codes,
        _headers,
        _schemas_envelope,
        _url,
        _minimums,
        _tls,
    ]
    findings += [finding for rule in rules for finding in rule(judged)]
    findings += _request_timeout(judged, sink_deadline_seconds)
    return sorted(findings, key=lambda finding: finding.severity != "error")


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is an error."""
    return any(finding.severity == "error" for finding in findings)


def _unknown_properties(config: Mapping[str, str]) -> Iterator[Finding]:
    for key in config:
        if is_known_property(key):
            continue
        close = difflib.get_close_matches(key, KNOWN_PROPERTIES, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        yield Finding(
            "error", key, f"HttpSink has no property {key}, so it is ignored{hint}"
        )


def _required(config: Mapping[str, str]) -> Iterator[Finding]:
    for key in ("topics", "tasks.max", "http.api.url", "input.data.format"):
        if key not in config:
            yield Finding("error", key, f"{key} is required by HttpSink")
    if config.get("connector.class", "HttpSink") != "HttpSink":
        yield Finding(
            "error", "connector.class", "these rules describe the V1 class HttpSink"
        )


def _bearer(config: Mapping[str, str]) -> Iterator[Finding]:
    try:
        names = [
            name.lower()
            for name, _ in parse_headers(
                config.get("sensitive.headers"), config.get("header.separator")
            )
        ]
    except ConfigurationError as exc:
        yield Finding("error", "sensitive.headers", str(exc))
        return
    if "authorization" not in names:
        yield Finding(
            "error",
            "sensitive.headers",
            "sensitive.headers must carry `Authorization: Bearer <token>`: the sink "
            "rejects requests without it",
        )


def _integers(config: Mapping[str, str]) -> Iterator[Finding]:
    for key in _INTEGERS:
        value = config.get(key)
        if value is not None and not (value.isdigit() and int(value) >= 0):
            yield Finding("error", key, f"{key} must be a whole number written as text")


def _choices(config: Mapping[str, str]) -> Iterator[Finding]:
    for key, allowed in _CHOICES.items():
        value = config.get(key)
        if value is not None and value not in allowed:
            choice = " or ".join(allowed)
            yield Finding("error", key, f"{key} should be {choice}: {_WHY[key]}")


def _body_format(config: Mapping[str, str]) -> Iterator[Finding]:
    if config.get("request.body.format", "string") != "json":
        yield Finding(
            "error",
            "request.body.format",
            "request.body.format must be json: the Cloud default `string` sends the "
            "value as {key=value, ...}, which is not JSON",
        )


def _batching(config: Mapping[str, str]) -> Iterator[Finding]:
    if config.get("batch.max.size", "1") != "1":
        yield Finding(
            "error",
            "batch.max.size",
            "batch.max.size must be 1: the sink handles one record per request",
        )
    if config.get("batch.json.as.array", "true") != "false":
        yield Finding(
            "error",
            "batch.json.as.array",
            "batch.json.as.array must be false: otherwise (and when absent) the body "
            "arrives wrapped as [ {...} ] instead of the bare object",
        )


_MINIMUMS = {
    "tasks.max": (1, "no task would deliver anything"),
    "max.retries": (
        1,
        "the sink answers 503 at its deadline and relies on redelivery to finish a "
        "long search; without retries such a search ends in the error topic",
    ),
}


def _minimums(config: Mapping[str, str]) -> Iterator[Finding]:
    for key, (least, why) in _MINIMUMS.items():
        value = config.get(key, "")
        if value.isdigit() and int(value) < least:
            yield Finding("error", key, f"{key} must be at least {least}: {why}")


def _tls(config: Mapping[str, str]) -> Iterator[Finding]:
    protocol = config.get("https.ssl.protocol")
    if protocol is not None and protocol not in ("TLSv1.2", "TLSv1.3"):
        yield Finding(
            "error",
            "https.ssl.protocol",
            "https.ssl.protocol must be TLSv1.3 (the Cloud default) or TLSv1.2",
        )


def _retry_codes(config: Mapping[str, str]) -> Iterator[Finding]:
    spec = config.get("retry.on.status.codes", "400-")
    try:
        ranges = parse_status_codes(spec)
    except ConfigurationError as exc:
        yield Finding("error", "retry.on.status.codes", str(exc))
        return
    permanent = [
        code
        for code in (400, 401, 403, 404, 409, 413, 415, 422)
        if any(low <= code <= high for low, high in ranges)
    ]
    if permanent:
        codes = ", ".join(map(str, permanent))
        yield Finding(
            "error",
            "retry.on.status.codes",
            f"retry.on.status.codes retries permanent errors ({codes}); the Cloud "
            "default `400-` does. Retry only what can succeed later: 408,429,500-",
        )


def _headers(config: Mapping[str, str]) -> Iterator[Finding]:
    plain, separator = config.get("headers", ""), config.get("header.separator")
    if len(_HEADER_START.findall(plain)) > 1 and not separator:
        yield Finding(
            "error",
            "header.separator",
            "header.separator must be set when headers holds more than one header: "
            "Cloud has no default, so they would be sent as one",
        )
    try:
        pairs = parse_headers(plain, separator)
    except ConfigurationError as exc:
        yield Finding("error", "headers", str(exc))
        return
    if ("content-type", "application/json") not in [
        (name.lower(), value.lower()) for name, value in pairs
    ]:
        yield Finding(
            "error",
            "headers",
            "headers must include `Content-Type: application/json`: the connector's "
            "own default is undocumented",
        )
    for name, _ in pairs:
        if _SECRET_HEADER.search(name):
            yield Finding(
                "error",
                "headers",
                f"header {name} carries a credential: put it in sensitive.headers, "
                "which Confluent masks",
            )


def _schemas_envelope(config: Mapping[str, str]) -> Iterator[Finding]:
    if config.get("value.converter.schemas.enable", "false") != "false":
        yield Finding(
            "error",
            "value.converter.schemas.enable",
            "value.converter.schemas.enable must be false: the producer writes plain "
            "JSON without a schema envelope",
        )


def _url(config: Mapping[str, str]) -> Iterator[Finding]:
    url = config.get("http.api.url")
    if url is None:
        return
    parts = urlsplit(url)
    if parts.username or parts.password:
        yield Finding(
            "error",
            "http.api.url",
            "http.api.url must not carry a user name or password: it is logged and "
            "shown in error records; put credentials in sensitive.headers",
        )
    if parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS
    ):
        return
    yield Finding(
        "error",
        "http.api.url",
        "http.api.url must be https (plain http only on localhost): the bearer "
        "token travels in every request",
    )


def _request_timeout(config: Mapping[str, str], deadline: float) -> Iterator[Finding]:
    value = config.get("http.request.timeout.ms", "30000")
    if value.isdigit() and int(value) <= deadline * 1000:
        yield Finding(
            "error",
            "http.request.timeout.ms",
            f"http.request.timeout.ms must exceed the sink's {deadline:g} s deadline:"
            " a shorter timeout retries requests the sink is still answering",
        )
