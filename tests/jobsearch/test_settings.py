"""Settings: local defaults, production requirements, no values in errors."""

from __future__ import annotations

import pytest

from jobsearch.errors import ConfigurationError
from jobsearch.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in (
        "CONFLUENT_REST_URL",
        "CONFLUENT_CLUSTER_ID",
        "CONFLUENT_API_KEY",
        "CONFLUENT_API_SECRET",
        "JOBSEARCH_ENV",
        "SINK_BEARER_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(str(tmp_path))


def test_settings_default_to_local_emulator() -> None:
    """Unset Confluent settings point at the emulator on loopback."""
    settings = load_settings()

    assert settings.rest_url == "http://127.0.0.1:8082"
    assert settings.cluster_id == "lkc-local"
    key, secret = settings.rest_credentials
    assert (key, secret.get_secret_value()) == ("local", "local")
    assert settings.kafka_topic_job_search == "job-search-requests"


def test_settings_production_names_every_missing_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Production refuses to start and names each missing variable."""
    monkeypatch.setenv("JOBSEARCH_ENV", "production")
    monkeypatch.setenv("CONFLUENT_API_KEY", "KEY-VALUE-CANARY")

    with pytest.raises(ConfigurationError) as caught:
        load_settings()

    text = str(caught.value)
    for name in ("CONFLUENT_REST_URL", "CONFLUENT_CLUSTER_ID", "CONFLUENT_API_SECRET"):
        assert name in text
    assert "CONFLUENT_API_KEY," not in text
    assert "KEY-VALUE-CANARY" not in text


def test_settings_invalid_value_is_named_without_echo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bad value names its variable but never repeats the value."""
    monkeypatch.setenv("SINK_DEADLINE_SECONDS", "SECRET-LOOKING-VALUE")

    with pytest.raises(ConfigurationError) as caught:
        load_settings()

    assert "SINK_DEADLINE_SECONDS" in str(caught.value)
    assert "SECRET-LOOKING-VALUE" not in str(caught.value)


def test_settings_read_dotenv_and_split_lists(tmp_path: object) -> None:
    """`.env` is read; comma lists become lists; tokens roll over."""
    from pathlib import Path

    Path(".env").write_text(
        "CORS_ALLOW_ORIGINS=https://a.example.test, https://b.example.test\n"
        "SINK_BEARER_TOKEN=new-token,old-token\n",
        encoding="utf-8",
    )

    settings = load_settings()

    assert settings.cors_allow_origins == [
        "https://a.example.test",
        "https://b.example.test",
    ]
    assert [t.get_secret_value() for t in settings.sink_tokens] == [
        "new-token",
        "old-token",
    ]
    assert "new-token" not in repr(settings)
