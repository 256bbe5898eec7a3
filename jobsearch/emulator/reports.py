"""The records the connector writes about its work: success, error and DLQ topics.

Header names follow what Confluent's HttpSink writes (`input_record_*`,
`status_code`, `response_content`, ...) and Kafka Connect's dead-letter reporter
(`__connect.errors.*`).
"""

from __future__ import annotations

from dataclasses import dataclass

from jobsearch.emulator.log import NewRecord, Record

LOGICAL_ID = "lcc-local"


@dataclass(frozen=True)
class TopicNames:
    """The connector's report topics and consumer group, named after its logical id."""

    success: str = f"success-{LOGICAL_ID}"
    error: str = f"error-{LOGICAL_ID}"
    dlq: str = f"dlq-{LOGICAL_ID}"
    group: str = f"connect-{LOGICAL_ID}"

    def all(self) -> tuple[str, str, str]:
        """The three report topics."""
        return self.success, self.error, self.dlq


@dataclass(frozen=True)
class Outcome:
    """The last attempt of one request: a response or an exception."""

    url: str
    status: int | None = None
    reason: str = ""
    content: bytes = b""
    exception: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


def _source_headers(record: Record) -> list[tuple[str, bytes]]:
    return [
        ("input_record_topic", record.topic.encode()),
        ("input_record_partition", str(record.partition).encode()),
        ("input_record_offset", str(record.offset).encode()),
        ("input_record_timestamp", str(record.timestamp_ms).encode()),
    ]


def success_record(record: Record, outcome: Outcome) -> NewRecord:
    """The success-topic record: the response body, tagged with its input record."""
    return NewRecord(
        key=record.key,
        value=outcome.content,
        headers=tuple(_source_headers(record)),
        key_type=record.key_type,
        value_type="STRING",
    )


def error_string(outcome: Outcome) -> str:
    """The sentence Confluent writes as the error-topic value."""
    content = outcome.content.decode("utf-8", "replace") if outcome.status else None
    return (
        "Retry time lapsed, unable to process HTTP request. "
        f"HTTP Response code: {_text(outcome.status)}, "
        f"Reason phrase: {_text(outcome.reason or None)}, Url: {outcome.url}, "
        f"Response content: {_text(content)}, Exception: {_text(outcome.exception)}, "
        f"Error message: {_text(outcome.error_message)}"
    )


def _text(value: object) -> str:
    return "null" if value is None else str(value)


def error_record(
    record: Record, outcome: Outcome, payload: bytes, *, report_as: str
) -> NewRecord:
    """The error-topic record for a request that finally failed."""
    optional = {
        "status_code": str(outcome.status) if outcome.status is not None else None,
        "reason_phrase": outcome.reason or None,
        "response_content": outcome.content.decode("utf-8", "replace")
        if outcome.status is not None
        else None,
        "error_message": outcome.error_message,
        "exception": outcome.exception,
    }
    headers = _source_headers(record) + [
        (name, value.encode()) for name, value in optional.items() if value is not None
    ]
    headers += [("payload", payload), ("url", outcome.url.encode())]
    value = (
        outcome.content
        if report_as == "http_response"
        else error_string(outcome).encode()
    )
    return NewRecord(
        key=record.key,
        value=value,
        headers=tuple(headers),
        key_type=record.key_type,
        value_type="STRING",
        partition=0,
    )


def dlq_record(record: Record, exception: str, message: str) -> NewRecord:
    """The DLQ record for a value the converter could not read: the original, tagged."""
    tags = {
        "__connect.errors.topic": record.topic,
        "__connect.errors.partition": str(record.partition),
        "__connect.errors.offset": str(record.offset),
        "__connect.errors.connector.name": LOGICAL_ID,
        "__connect.errors.stage": "VALUE_CONVERTER",
        "__connect.errors.class.name": "org.apache.kafka.connect.json.JsonConverter",
        "__connect.errors.exception.class.name": exception,
        "__connect.errors.exception.message": message,
    }
    headers = record.headers + tuple(
        (name, value.encode()) for name, value in tags.items()
    )
    return NewRecord(
        key=record.key,
        value=record.value,
        headers=headers,
        key_type=record.key_type,
        value_type=record.value_type,
        partition=0,
    )
