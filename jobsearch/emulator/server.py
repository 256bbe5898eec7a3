"""The emulator process: REST app under uvicorn and the connector, in one event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

import aiohttp

from jobsearch.connector.config import ConnectorConfig
from jobsearch.emulator import wire
from jobsearch.emulator.body import USER_AGENT
from jobsearch.emulator.delivery import Deliverer
from jobsearch.emulator.limits import ClusterLimits
from jobsearch.emulator.log import EventLog
from jobsearch.emulator.reports import TopicNames
from jobsearch.emulator.rest import RestState, create_rest_app
from jobsearch.emulator.tasks import SinkConnector, TaskState, unhonoured_properties
from jobsearch.logs import log_fields
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings, sqlite_path_from_url

logger = logging.getLogger("jobsearch.emulator")


class Emulator:
    """Confluent Cloud on loopback: REST v3 produce, the log, and the HTTP Sink."""

    def __init__(
        self,
        settings: Settings,
        connector: Mapping[str, str] | None,
        *,
        host: str = "127.0.0.1",
        port: int = 8082,
        database: Path | None = None,
        topics: Iterable[str] = (),
        poll_seconds: float = 0.2,
    ) -> None:
        self.settings = settings
        self.config = ConnectorConfig.from_mapping(connector) if connector else None
        self.host = host
        self.port = port
        self.database = database or sqlite_path_from_url(settings.emulator_database_url)
        self.names = TopicNames()
        self.topics = frozenset(
            {settings.kafka_topic_job_search, *self.names.all(), *topics}
            | set(self.config.topic_list if self.config else ())
        )
        self.poll_seconds = poll_seconds
        self.log: EventLog | None = None
        self.connector: SinkConnector | None = None
        self._client: aiohttp.ClientSession | None = None
        self._server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        """The REST endpoint, e.g. `http://127.0.0.1:8082`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def task_states(self) -> list[TaskState]:
        """Each connector task's state; empty without a connector."""
        return self.connector.states if self.connector else []

    async def start(self) -> None:
        """Open the log, bind the port (0 picks a free one), start the connector."""
        log = EventLog(self.database, partitions=self.settings.emulator_partitions)
        self.log = log
        for topic in self.names.all():
            await asyncio.to_thread(log.ensure_topic, topic, 1)
        await self._start_connector(log)
        await self._serve(log)
        logger.info(
            "emulator started",
            extra=log_fields(url=self.url, database=str(self.database),
                             connector=self.config.name if self.config else None),
        )  # fmt: skip

    async def stop(self) -> None:
        """Stop serving and delivering; committed offsets are already durable."""
        if self._server is not None:
            await self._server.stop()
        if self.connector is not None:
            await self.connector.stop()
        if self._client is not None:
            await self._client.close()
        if self.log is not None:
            self.log.close()
        self._server = self._client = self.log = None
        logger.info("emulator stopped", extra=log_fields(url=self.url))

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _start_connector(self, log: EventLog) -> None:
        if self.config is None:
            return
        ignored = unhonoured_properties(self.config.raw)
        if ignored:
            logger.warning(
                "connector properties the emulator does not honour",
                extra=log_fields(properties=",".join(ignored)),
            )
        self._client = wire.open_session(
            USER_AGENT,
            connect_ms=self.config.http_connect_timeout_ms,
            request_ms=self.config.http_request_timeout_ms,
        )
        deliverer = Deliverer(self.config, log, self._client, self.names)
        self.connector = SinkConnector(deliverer, poll_seconds=self.poll_seconds)
        await self.connector.start(log)

    async def _serve(self, log: EventLog) -> None:
        key, secret = self.settings.rest_credentials
        state = RestState(
            cluster_id=self.settings.cluster_id,
            credentials=(key, secret),
            topics=self.topics,
            log=log,
            on_append=self.connector.notify if self.connector else lambda: None,
            limits=ClusterLimits() if self.settings.emulator_limit_mode else None,
        )
        self._server = BackgroundServer(
            create_rest_app(state), host=self.host, port=self.port
        )
        await self._server.start()
        self.port = self._server.port
