"""The linter: Cloud defaults must be flagged, the repository file must pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobsearch.connector.commands import app
from jobsearch.connector.lint import has_errors, lint_connector, lint_document

REPOSITORY_FILE = Path(__file__).resolve().parents[2] / "connector/http-sink.json"
RENDERED = {
    **json.loads(REPOSITORY_FILE.read_text())["config"],
    "topics": "job-search-requests",
    "http.api.url": "https://sink.example.test/process-job-search",
    "sensitive.headers": "Authorization: Bearer t",
    "kafka.api.key": "k",
    "kafka.api.secret": "s",
}
# What a config relying on Confluent Cloud's defaults looks like.
CLOUD_DEFAULTS = {
    "name": "sink",
    "connector.class": "HttpSink",
    "topics": "job-search-requests",
    "tasks.max": "1",
    "input.data.format": "JSON",
    "http.api.url": "https://sink.example.test/process-job-search",
    "sensitive.headers": "Authorization: Bearer t",
}


def test_lint_repository_file_has_no_findings() -> None:
    """The shipped file, unrendered, passes every rule."""
    assert lint_document(json.loads(REPOSITORY_FILE.read_text())) == []


def test_lint_rendered_repository_config_has_no_findings() -> None:
    """The shipped file, rendered, passes every rule."""
    assert lint_connector(RENDERED) == []


def test_lint_cloud_defaults_flags_each_lossy_default() -> None:
    """Body format, array wrapping, retry codes and Content-Type are all flagged."""
    flagged = {
        f.property for f in lint_connector(CLOUD_DEFAULTS) if f.severity == "error"
    }

    assert flagged == {
        "request.body.format",
        "batch.json.as.array",
        "retry.on.status.codes",
        "headers",
    }


@pytest.mark.parametrize(
    ("change", "prop", "phrase"),
    [
        ({"request.body.format": "string"}, "request.body.format", "{key=value"),
        ({"batch.json.as.array": "true"}, "batch.json.as.array", "[ {...} ]"),
        ({"batch.max.size": "10"}, "batch.max.size", "one record"),
        ({"retry.on.status.codes": "400-"}, "retry.on.status.codes", "permanent"),
        ({"retry.on.status.codes": "abc"}, "retry.on.status.codes", "invalid"),
        ({"headers": "Accept: */*"}, "headers", "Content-Type"),
        ({"headers": "Content-Type: application/json|Authorization: Bearer x"},
         "headers", "sensitive.headers"),
        ({"header.separator": "", "headers": "Content-Type: application/json|X-A: 1"},
         "header.separator", "more than one"),
        ({"sensitive.headers": "X-Other: 1"}, "sensitive.headers", "Bearer"),
        ({"behavior.on.error": "fail"}, "behavior.on.error", "blocks"),
        ({"behavior.on.null.values": "delete"}, "behavior.on.null.values", "tombstone"),
        ({"http.request.timeout.ms": "20000"}, "http.request.timeout.ms", "deadline"),
        ({"http.request.timeout.ms": "soon"}, "http.request.timeout.ms", "whole"),
        ({"http.api.url": "http://sink.example.test/x"}, "http.api.url", "https"),
        ({"request.method": "PUT"}, "request.method", "POST"),
        ({"value.converter.schemas.enable": "true"}, "value.converter.schemas.enable",
         "envelope"),
        ({"batch.json.as.arrays": "false"}, "batch.json.as.arrays", "did you mean"),
        ({"connector.class": "HttpSinkV2"}, "connector.class", "V1"),
    ],
)  # fmt: skip
def test_lint_risky_setting_names_property_and_reason(
    change: dict[str, str], prop: str, phrase: str
) -> None:
    """Each risky value is an error naming its property and why."""
    findings = lint_connector({**RENDERED, **change})

    matching = [f for f in findings if f.property == prop and f.severity == "error"]
    assert matching, findings
    assert phrase in matching[0].message


@pytest.mark.parametrize("url", ["http://localhost:8000/x", "http://127.0.0.1:9/x"])
def test_lint_plain_http_on_loopback_passes(url: str) -> None:
    """Plain http is fine for a local webhook."""
    assert not has_errors(lint_connector({**RENDERED, "http.api.url": url}))


def test_lint_command_exits_1_on_errors_and_0_on_repository_file(
    tmp_path: Path,
) -> None:
    """`connector lint` fails on a Cloud-defaults file and passes the shipped one."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(CLOUD_DEFAULTS))

    failing = CliRunner().invoke(app, ["lint", str(bad)])
    passing = CliRunner().invoke(app, ["lint", str(REPOSITORY_FILE)])

    assert (failing.exit_code, passing.exit_code) == (1, 0)
    assert "request.body.format" in failing.stderr


@pytest.mark.parametrize(
    ("change", "prop"),
    [
        ({"max.retries": "0"}, "max.retries"),
        ({"tasks.max": "0"}, "tasks.max"),
        ({"https.ssl.protocol": "SSLv3"}, "https.ssl.protocol"),
        ({"http.api.url": "https://u:p@sink.example.test/x"}, "http.api.url"),
    ],
)
def test_lint_flags_settings_that_lose_records_or_leak(
    change: dict[str, str], prop: str
) -> None:
    """No retries, no tasks, an old TLS or credentials in the URL are errors."""
    config = {**RENDERED, **change}

    findings = lint_connector(config)

    assert prop in {f.property for f in findings if f.severity == "error"}
