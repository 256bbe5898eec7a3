"""The HttpSink connector config, read with the Confluent CLI's rules and typed once.

The CLI (`confluent connect cluster create --config-file`) accepts a JSON object whose
string members are config entries, optionally with a nested `"config"` object merged in;
every value must be a string and `name` and `connector.class` must be present.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from jobsearch.errors import ConfigurationError
from jobsearch.message import describe_validation_error

# Properties of the Confluent Cloud V1 `HttpSink` plugin (its validate-API dump).
KNOWN_PROPERTIES = frozenset(
    {
        "name", "connector.class", "topics", "tasks.max", "kafka.auth.mode",
        "kafka.api.key", "kafka.api.secret", "kafka.service.account.id",
        "input.data.format", "input.key.format", "http.api.url", "request.method",
        "headers", "header.separator", "sensitive.headers", "auth.type",
        "connection.user", "connection.password", "oauth2.token.url",
        "oauth2.client.id", "oauth2.client.secret", "oauth2.token.property",
        "oauth2.client.auth.mode", "oauth2.client.scope", "oauth2.client.headers",
        "request.body.format", "batch.max.size", "batch.json.as.array",
        "batch.prefix", "batch.suffix", "batch.separator", "batch.key.pattern",
        "behavior.on.null.values", "behavior.on.error", "report.errors.as",
        "retry.on.status.codes", "max.retries", "retry.backoff.ms",
        "retry.backoff.policy", "http.connect.timeout.ms", "http.request.timeout.ms",
        "regex.patterns", "regex.replacements", "regex.separator",
        "https.ssl.protocol", "https.host.verifier.enabled", "https.ssl.keystorefile",
        "https.ssl.keystore.password", "https.ssl.key.password",
        "https.ssl.truststorefile", "https.ssl.truststore.password",
        "errors.tolerance", "max.poll.interval.ms", "max.poll.records",
        "value.converter.schemas.enable", "auto.restart.on.user.error",
    }
)  # fmt: skip
KNOWN_PREFIXES = ("oauth2.jwt.", "transforms", "predicates", "value.converter.")
# Values that must never be printed.
SECRET_PROPERTIES = frozenset(
    {
        "kafka.api.secret", "sensitive.headers", "connection.password",
        "oauth2.client.secret", "https.ssl.keystore.password",
        "https.ssl.key.password", "https.ssl.truststore.password",
    }
)  # fmt: skip


def is_known_property(name: str) -> bool:
    """True when the HttpSink plugin defines a property of this name."""
    return name in KNOWN_PROPERTIES or name.startswith(KNOWN_PREFIXES)


def load_connector_document(path: Path) -> object:
    """Read the JSON document of a connector file, naming the file on failure."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read connector file {path}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"connector file {path} is not JSON (line {exc.lineno})"
        ) from exc


def document_problems(data: object) -> list[tuple[str, str]]:
    """Each (property, problem) the Confluent CLI would reject the document for."""
    if not isinstance(data, dict):
        return [("<file>", "the file must hold one JSON object")]
    problems = []
    for key, value in _entries(data):
        if not isinstance(value, str):
            problems.append(
                (key, f'only string values are permitted for the configuration "{key}"')
            )
    flat = {key: value for key, value in _entries(data)}
    missing = [name for name in ("name", "connector.class") if name not in flat]
    if missing:
        names = " and ".join(f'"{name}"' for name in missing)
        problems.append((missing[0], f"required configs {names} missing"))
    return problems


def flatten_document(data: object) -> dict[str, str]:
    """The config map the CLI sends: top-level strings merged with `config`."""
    problems = document_problems(data)
    if problems:
        raise ConfigurationError("; ".join(message for _, message in problems))
    assert isinstance(data, dict)
    return {key: str(value) for key, value in _entries(data)}


def _entries(data: dict[str, Any]) -> list[tuple[str, object]]:
    nested = data.get("config")
    entries = [(key, value) for key, value in data.items() if key != "config"]
    if "config" in data and not isinstance(nested, dict):
        entries.append(("config", nested))
    elif isinstance(nested, dict):
        entries += list(nested.items())
    return [(key, value) for key, value in entries if key != "offsets"]


def parse_status_codes(spec: str) -> tuple[tuple[int, int], ...]:
    """Parse `408,429,500-` (codes and ranges, open above) into inclusive ranges."""
    ranges = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        low, dash, high = item.partition("-")
        try:
            first = int(low)
            last = (int(high) if high.strip() else 999) if dash else first
        except ValueError as exc:
            raise ConfigurationError(
                f"retry.on.status.codes has an invalid entry {item!r}"
            ) from exc
        if not 100 <= first <= last <= 999:
            raise ConfigurationError(f"retry.on.status.codes has a bad range {item!r}")
        ranges.append((first, last))
    return tuple(ranges)


def parse_headers(text: str | None, separator: str | None) -> list[tuple[str, str]]:
    """Split `Name: value` pairs joined by `separator` (no separator: one header)."""
    if not text:
        return []
    parts = text.split(separator) if separator else [text]
    headers = []
    for part in (item.strip() for item in parts):
        name, colon, value = part.partition(":")
        if part and (not colon or not name.strip()):
            raise ConfigurationError("headers must be written as `Name: value`")
        if part:
            headers.append((name.strip(), value.strip()))
    return headers


class ConnectorConfig(BaseModel):
    """The properties the emulator honours, typed; `raw` keeps every entry."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    name: str
    connector_class: str = Field(alias="connector.class")
    topics: str
    tasks_max: int = Field(alias="tasks.max", ge=1, le=64)
    input_data_format: str = Field(default="JSON", alias="input.data.format")
    http_api_url: str = Field(alias="http.api.url")
    request_method: Literal["POST", "PUT", "PATCH"] = Field(
        default="POST", alias="request.method"
    )
    headers: str | None = None
    header_separator: str | None = Field(default=None, alias="header.separator")
    sensitive_headers: SecretStr | None = Field(default=None, alias="sensitive.headers")
    auth_type: Literal["NONE", "BASIC"] = Field(default="NONE", alias="auth.type")
    connection_user: str | None = Field(default=None, alias="connection.user")
    connection_password: SecretStr | None = Field(
        default=None, alias="connection.password"
    )
    request_body_format: Literal["json", "string"] = Field(
        default="string", alias="request.body.format"
    )
    batch_max_size: int = Field(default=1, alias="batch.max.size", ge=1, le=1000)
    # Absent in the Cloud dump; the self-managed default is true.
    batch_json_as_array: bool = Field(default=True, alias="batch.json.as.array")
    batch_prefix: str = Field(default="", alias="batch.prefix")
    batch_suffix: str = Field(default="", alias="batch.suffix")
    batch_separator: str = Field(default=",", alias="batch.separator")
    behavior_on_null_values: Literal["ignore", "delete", "fail"] = Field(
        default="ignore", alias="behavior.on.null.values"
    )
    behavior_on_error: Literal["ignore", "log", "fail"] = Field(
        default="ignore", alias="behavior.on.error"
    )
    report_errors_as: Literal["error_string", "http_response"] = Field(
        default="error_string", alias="report.errors.as"
    )
    retry_on_status_codes: str = Field(default="400-", alias="retry.on.status.codes")
    max_retries: int = Field(default=3, alias="max.retries", ge=0, le=1000)
    retry_backoff_ms: int = Field(default=3000, alias="retry.backoff.ms", ge=0)
    retry_backoff_policy: Literal["EXPONENTIAL_WITH_JITTER", "CONSTANT_VALUE"] = Field(
        default="EXPONENTIAL_WITH_JITTER", alias="retry.backoff.policy"
    )
    http_connect_timeout_ms: int = Field(
        default=30000, alias="http.connect.timeout.ms", gt=0
    )
    http_request_timeout_ms: int = Field(
        default=30000, alias="http.request.timeout.ms", gt=0
    )
    errors_tolerance: Literal["all", "none"] = Field(
        default="all", alias="errors.tolerance"
    )
    value_converter_schemas_enable: bool = Field(
        default=False, alias="value.converter.schemas.enable"
    )
    raw: dict[str, str] = Field(default_factory=dict, exclude=True)

    @classmethod
    def from_mapping(cls, config: Mapping[str, str]) -> ConnectorConfig:
        """Type a rendered config map, naming each invalid property."""
        try:
            model = cls.model_validate({**config, "raw": dict(config)})
        except ValidationError as exc:
            problem = describe_validation_error(exc)
            raise ConfigurationError(f"invalid connector config: {problem}") from None
        model.retry_ranges()
        model.header_list()
        return model

    @property
    def topic_list(self) -> list[str]:
        """The input topics, in order."""
        return [topic.strip() for topic in self.topics.split(",") if topic.strip()]

    def retry_ranges(self) -> tuple[tuple[int, int], ...]:
        """The parsed `retry.on.status.codes`."""
        return parse_status_codes(self.retry_on_status_codes)

    def header_list(self) -> list[tuple[str, str]]:
        """Static headers followed by sensitive ones, as sent."""
        secret = (
            self.sensitive_headers.get_secret_value()
            if self.sensitive_headers
            else None
        )
        return parse_headers(self.headers, self.header_separator) + parse_headers(
            secret, self.header_separator
        )


def mask_config(config: Mapping[str, str]) -> dict[str, str]:
    """A copy safe to print: secrets replaced, sensitive header names kept."""
    masked = {}
    for key, value in config.items():
        if key == "sensitive.headers":
            names = [name for name, _ in _safe_headers(value, config)]
            masked[key] = " | ".join(f"{name}: ****" for name in names) or "****"
        elif key in SECRET_PROPERTIES or "password" in key or "secret" in key:
            masked[key] = "****"
        else:
            masked[key] = value
    return masked


def _safe_headers(value: str, config: Mapping[str, str]) -> list[tuple[str, str]]:
    try:
        return parse_headers(value, config.get("header.separator"))
    except ConfigurationError:
        return []
