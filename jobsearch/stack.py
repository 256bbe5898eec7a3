"""The whole flow on one machine: emulator, producer and sink in one process.

The sink starts first so that its URL can be written into the connector config, then
the emulator (REST v3 plus HTTP Sink delivery driven by that config), then the
producer pointed at the emulator.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from jobsearch.connector.render import render_connector
from jobsearch.emulator import Emulator
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings, sqlite_path_from_url

REPO_ROOT = Path(__file__).resolve().parents[1]
CONNECTOR_FILE = REPO_ROOT / "connector" / "http-sink.json"


@dataclass(frozen=True)
class StackPorts:
    """Where each part listens; 0 picks a free port."""

    emulator: int = 8082
    producer: int = 8000
    sink: int = 8001


@dataclass(frozen=True)
class RunningStack:
    """URLs of a running stack."""

    producer_url: str
    sink_url: str
    emulator_url: str
    settings: Settings


def connector_env(settings: Settings, sink_url: str, token: str) -> dict[str, str]:
    """The placeholder values that point the shipped connector at a local sink."""
    key, secret = settings.rest_credentials
    return {
        "CONFLUENT_API_KEY": key,
        "CONFLUENT_API_SECRET": secret.get_secret_value(),
        "KAFKA_TOPIC_JOB_SEARCH": settings.kafka_topic_job_search,
        "SINK_WEBHOOK_URL": f"{sink_url}/process-job-search",
        "SINK_CONNECTOR_TOKEN": token,
        "CONNECTOR_NAME": "jobsearch-local-sink",
    }


@contextlib.asynccontextmanager
async def local_stack(
    settings: Settings,
    ports: StackPorts,
    *,
    connector_file: Path = CONNECTOR_FILE,
) -> AsyncIterator[RunningStack]:
    """Run the three parts until the block ends, then stop them in reverse."""
    from producer_app.main import create_app as create_producer
    from sink_app.main import create_app as create_sink

    token = _connector_token(settings)
    sink_settings = settings
    if not settings.sink_tokens:
        sink_settings = settings.model_copy(
            update={"sink_bearer_token": SecretStr(token)}
        )
    async with contextlib.AsyncExitStack() as stack:
        sink = BackgroundServer(create_sink(sink_settings), port=ports.sink)
        await stack.enter_async_context(sink)
        connector = render_connector(
            connector_file, connector_env(settings, sink.url, token)
        )
        emulator = Emulator(
            settings,
            connector,
            port=ports.emulator,
            database=sqlite_path_from_url(settings.emulator_database_url),
        )
        await stack.enter_async_context(emulator)
        producer_settings = settings.model_copy(
            update={"confluent_rest_url": emulator.url}
        )
        producer = BackgroundServer(
            create_producer(producer_settings), port=ports.producer
        )
        await stack.enter_async_context(producer)
        yield RunningStack(producer.url, sink.url, emulator.url, producer_settings)


def _connector_token(settings: Settings) -> str:
    """The first configured sink token, or a fresh one for this run."""
    tokens = settings.sink_tokens
    return tokens[0].get_secret_value() if tokens else secrets.token_urlsafe(32)
