"""The repository's connector file and the environment that fills its placeholders."""

from __future__ import annotations

from pathlib import Path

REPOSITORY_FILE = Path(__file__).resolve().parents[2] / "connector/http-sink.json"
ENV = {
    "CONFLUENT_API_KEY": "KEY123",
    "CONFLUENT_API_SECRET": "canary-secret-1",
    "KAFKA_TOPIC_JOB_SEARCH": "job-search-requests",
    "SINK_WEBHOOK_URL": "https://sink.example.test/process-job-search",
    "SINK_CONNECTOR_TOKEN": "canary-token-2",
}
