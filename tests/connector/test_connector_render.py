"""Rendering placeholders and writing the result owner-only."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from connector_support import ENV, REPOSITORY_FILE

from jobsearch.connector.config import mask_config
from jobsearch.connector.render import load_env, render_connector, write_rendered
from jobsearch.errors import ConfigurationError


def test_render_repository_file_fills_every_placeholder() -> None:
    """All upper-case placeholders are filled; the result is flat and string-valued."""
    config = render_connector(REPOSITORY_FILE, ENV)

    assert "${" not in json.dumps(config)
    assert config["sensitive.headers"] == "Authorization: Bearer canary-token-2"
    assert all(isinstance(value, str) for value in config.values())


def test_render_missing_values_lists_every_placeholder() -> None:
    """One error names every unresolved placeholder, and only names."""
    with pytest.raises(ConfigurationError) as caught:
        render_connector(REPOSITORY_FILE, {"CONFLUENT_API_KEY": "KEY123"})

    message = str(caught.value)
    for name in ("CONFLUENT_API_SECRET", "KAFKA_TOPIC_JOB_SEARCH", "SINK_WEBHOOK_URL",
                 "SINK_CONNECTOR_TOKEN"):  # fmt: skip
        assert name in message
    assert "KEY123" not in message


def test_render_keeps_connector_templates(tmp_path: Path) -> None:
    """Lower-case `${topic}` and `${key}` belong to the connector and stay."""
    source = tmp_path / "c.json"
    url = "${BASE}/x?k=${key}&t=${topic}"
    document = {"name": "n", "connector.class": "HttpSink", "http.api.url": url}
    source.write_text(json.dumps(document))

    config = render_connector(source, {"BASE": "https://a.example.test"})

    assert config["http.api.url"] == "https://a.example.test/x?k=${key}&t=${topic}"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "one JSON object"),
        ({"name": "n", "connector.class": "HttpSink", "tasks.max": 1}, "only string"),
        ({"config": {"topics": "t"}}, "required configs"),
    ],
)
def test_render_document_breaking_cli_rules_fails(
    tmp_path: Path, document: object, problem: str
) -> None:
    """The Confluent CLI's own rules apply before any substitution."""
    source = tmp_path / "c.json"
    source.write_text(json.dumps(document))

    with pytest.raises(ConfigurationError, match=problem):
        render_connector(source, ENV)


def test_write_rendered_creates_owner_only_file(tmp_path: Path) -> None:
    """The rendered file is mode 0600, even when it replaces a wider one."""
    out = tmp_path / "var" / "rendered.json"
    out.parent.mkdir()
    out.write_text("{}")
    out.chmod(0o644)

    write_rendered({"a": "b"}, out)

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text()) == {"a": "b"}


def test_load_env_prefers_environment_over_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`.env` fills gaps; the process environment wins."""
    dotenv = tmp_path / ".env"
    dotenv.write_text("ONLY_IN_FILE=file\nIN_BOTH=file\n")
    monkeypatch.setenv("IN_BOTH", "process")

    env = load_env(dotenv)

    assert (env["ONLY_IN_FILE"], env["IN_BOTH"]) == ("file", "process")


def test_mask_config_hides_secrets_keeps_header_names() -> None:
    """Masked output shows header names and no secret value."""
    masked = json.dumps(mask_config(render_connector(REPOSITORY_FILE, ENV)))

    assert "canary-secret-1" not in masked
    assert "canary-token-2" not in masked
    assert "Authorization: ****" in masked


@pytest.mark.parametrize("value", ["tok\nX-Evil: 1", "tok|X-Evil: 1", "tok\r\n"])
def test_render_value_that_could_inject_a_header_is_refused(
    tmp_path: Path, value: str
) -> None:
    """A token with a line break or the header separator never reaches the file."""
    source = tmp_path / "sink.json"
    source.write_text(
        json.dumps(
            {
                "name": "s",
                "connector.class": "HttpSink",
                "sensitive.headers": "Authorization: Bearer ${SINK_CONNECTOR_TOKEN}",
            }
        ),
        encoding="utf-8",
    )

    with pytest.raises(ConfigurationError) as caught:
        render_connector(source, {"SINK_CONNECTOR_TOKEN": value})

    assert "SINK_CONNECTOR_TOKEN" in str(caught.value)
    assert value not in str(caught.value)
