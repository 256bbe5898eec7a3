"""Logging: text and JSON lines with fields, one line per retry, no arguments."""

from __future__ import annotations

import json
import logging

import pytest
import stamina.instrumentation

from jobsearch.logs import JsonFormatter, TextFormatter, log_fields, log_retry


def record(**fields: object) -> logging.LogRecord:
    return logging.makeLogRecord(
        {
            "name": "jobsearch.test",
            "msg": "request",
            "levelname": "INFO",
            **log_fields(**fields),
        }
    )


def test_text_line_carries_fields_and_quotes_spaces() -> None:
    """`key=value` pairs follow the event; values with spaces are quoted."""
    line = TextFormatter().format(record(route="/jobs-search", reason="two words"))

    assert "request route=/jobs-search" in line
    assert 'reason="two words"' in line


def test_json_line_is_one_object_without_none_fields() -> None:
    """JSON lines parse and drop fields that are None."""
    line = JsonFormatter().format(record(status=202, search_id=None))

    parsed = json.loads(line)
    assert parsed["event"] == "request"
    assert parsed["status"] == 202
    assert "search_id" not in parsed


def test_retry_hook_logs_one_warning_without_arguments(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A retry is one WARNING naming the operation and cause, never the call's args."""
    details = stamina.instrumentation.RetryDetails(
        name="produce",
        args=("BODY-WITH-USER-DATA",),
        kwargs={"secret": "SECRET-VALUE"},
        retry_num=2,
        wait_for=0.2,
        waited_so_far=0.1,
        caused_by=TimeoutError("slow"),
    )

    with caplog.at_level(logging.WARNING):
        log_retry(details)

    [line] = caplog.records
    assert line.levelno == logging.WARNING
    assert line.fields == {  # type: ignore[attr-defined]
        "operation": "produce",
        "retry": 2,
        "wait_s": 0.2,
        "cause": "TimeoutError",
    }
    assert "BODY-WITH-USER-DATA" not in caplog.text
    assert "SECRET-VALUE" not in caplog.text
