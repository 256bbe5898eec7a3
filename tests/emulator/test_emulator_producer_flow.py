"""producer_app → emulator → a capture webhook: what the sink will receive."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from emulator_support import CONNECTOR_FILE, CaptureServer, wait_for

from jobsearch.connector.render import render_connector
from jobsearch.emulator import Emulator
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings
from producer_app.main import create_app

TOKEN = "flow-token-0123456789"


@pytest.mark.slow
async def test_producer_record_reaches_webhook_as_bare_json_with_bearer(
    capture: CaptureServer, tmp_path: Path
) -> None:
    """The shipped connector file delivers the produced message byte-faithfully."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
    )
    connector = render_connector(
        CONNECTOR_FILE,
        {
            "CONFLUENT_API_KEY": "local",
            "CONFLUENT_API_SECRET": "local",
            "KAFKA_TOPIC_JOB_SEARCH": settings.kafka_topic_job_search,
            "SINK_WEBHOOK_URL": f"{capture.url}/process-job-search",
            "SINK_CONNECTOR_TOKEN": TOKEN,
        },
    )
    emulator = Emulator(settings, connector, port=0, database=tmp_path / "log.db")
    async with emulator:
        producer_settings = settings.model_copy(
            update={"confluent_rest_url": emulator.url}
        )
        async with (
            BackgroundServer(create_app(producer_settings)) as producer,
            httpx.AsyncClient(base_url=producer.url) as client,
        ):
            accepted = await client.post(
                "/jobs-search", json={"searchQuery": "rust", "location": "Oslo"}
            )
            await wait_for(lambda: len(capture.requests) >= 1)

    assert accepted.status_code == 202
    [delivery] = capture.requests
    assert delivery.method == "POST"
    assert delivery.path == "/process-job-search"
    assert delivery.header("authorization") == f"Bearer {TOKEN}"
    assert delivery.header("content-type") == "application/json"
    message = json.loads(delivery.body)
    assert isinstance(message, dict)
    assert message["search_id"] == accepted.json()["search_id"]
    assert message["query"] == "rust"
    assert message["location"] == "Oslo"
    assert message["version"] == 1
