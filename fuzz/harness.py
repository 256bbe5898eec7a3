"""Both apps on loopback for synchronous fuzzers: emulator REST, producer and sink.

The servers run in an event loop on a daemon thread, so fuzzers can use blocking
sockets and `requests` from the calling thread. The sink reads pages through an
in-memory transport: fuzzed URLs never leave the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
import jwt
from starlette.applications import Starlette

from jobsearch.emulator import Emulator
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings
from producer_app.main import create_app as create_producer
from sink_app.main import create_app as create_sink
from sink_app.pipeline.enrich import LocalEnricher
from sink_app.pipeline.fetch import PageFetcher
from sink_app.pipeline.netguard import IPAddress
from sink_app.pipeline.runner import SearchRunner
from sink_app.pipeline.source import Source

T = TypeVar("T")
START_SECONDS = 30.0
# Short, so the stalled-body case is answered quickly.
BODY_READ_SECONDS = 1.0
USER_ID = "8a3c1f1e-6f0b-4b6e-9d0e-1f2a3b4c5d6e"
APP_LOGGERS = ("jobsearch.producer", "jobsearch.sink")
PAGE = (
    Path(__file__).resolve().parents[1] / "examples" / "pages" / "01-jsonld-single.html"
)


@dataclass(frozen=True)
class Credentials:
    """Fresh secrets for one run; never printed."""

    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    sink_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def user_jwt(self, **claims: Any) -> str:
        """A valid Supabase-style user token, with `claims` overriding the defaults."""
        payload = {
            "sub": USER_ID,
            "aud": "authenticated",
            "exp": int(time.time()) + 3600,
            "role": "authenticated",
            **claims,
        }
        return jwt.encode(payload, self.jwt_secret, algorithm="HS256")


@dataclass(frozen=True)
class LoggedRequest:
    """One request line an app logged: which app, route and status."""

    app: str
    route: str
    status: int


class RequestLog(logging.Handler):
    """Keeps every canonical request line both apps log, to count server-side 5xx."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[LoggedRequest] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the line's app, route and status."""
        fields = getattr(record, "fields", {})
        if record.getMessage() == "request" and "status" in fields:
            app = record.name.rsplit(".", 1)[-1]
            route = str(fields.get("route", ""))
            self.lines.append(LoggedRequest(app, route, int(fields["status"])))

    def server_errors(self) -> list[LoggedRequest]:
        """Lines with a 5xx status."""
        return [line for line in self.lines if line.status >= 500]


class LoopThread:
    """An event loop on a daemon thread that blocking code can hand coroutines to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="fuzz-servers", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run `coro` on the loop and wait at most `timeout` seconds for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and join its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(START_SECONDS)
        self.loop.close()


class Stack:
    """Emulator REST, producer (user JWT on) and sink (bearer token on), on loopback."""

    def __init__(self, workdir: Path, credentials: Credentials) -> None:
        self.workdir = workdir
        self.credentials = credentials
        self.requests = RequestLog()
        self._loop: LoopThread | None = None
        self._emulator: Emulator | None = None
        self._servers: list[BackgroundServer] = []
        self._levels: dict[str, int] = {}

    @property
    def producer_url(self) -> str:
        """Base URL of the producer."""
        return self._servers[0].url

    @property
    def sink_url(self) -> str:
        """Base URL of the sink."""
        return self._servers[1].url

    def __enter__(self) -> Stack:
        for name in APP_LOGGERS:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.addHandler(self.requests)
            # The request lines are INFO; they must reach the handler.
            logger.setLevel(logging.INFO)
        self._loop = LoopThread()
        self._loop.run(self._start(), START_SECONDS)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._loop is not None:
            self._loop.run(self._stop(), START_SECONDS)
            self._loop.close()
            self._loop = None
        for name in APP_LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(self.requests)
            logger.setLevel(self._levels.get(name, logging.NOTSET))

    async def _start(self) -> None:
        base = self._settings()
        database = self.workdir / "emulator.sqlite3"
        self._emulator = Emulator(base, None, port=0, database=database)
        await self._emulator.start()
        producer = create_producer(
            self._settings(
                confluent_rest_url=self._emulator.url,
                supabase_jwt_secret=self.credentials.jwt_secret,
            )
        )
        sink = offline_sink(
            self._settings(sink_bearer_token=self.credentials.sink_token)
        )
        self._servers = [BackgroundServer(producer), BackgroundServer(sink)]
        for server in self._servers:
            await server.start()

    async def _stop(self) -> None:
        for server in self._servers:
            await server.stop()
        if self._emulator is not None:
            await self._emulator.stop()

    def _settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{self.workdir / 'jobs.sqlite3'}",
            "emulator_database_url": f"sqlite:///{self.workdir / 'emulator.sqlite3'}",
            "emulator_partitions": 1,
            "scrape_allow_private": True,
            "body_read_timeout_seconds": BODY_READ_SECONDS,
            # One fuzzer is one user sending thousands of requests: admission control
            # would answer most of them 429 and hide the paths behind it.
            "admission_per_user_burst": 1_000_000,
            "admission_per_user_per_minute": 1_000_000_000,
            "admission_global_per_second": 1_000_000_000,
            **overrides,
        }
        return Settings(_env_file=None, **values)


def offline_sink(settings: Settings) -> Starlette:
    """The sink app, reading every page from memory instead of the network."""
    app = create_sink(settings)
    lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def offline(app_: Any) -> AsyncIterator[None]:
        async with lifespan(app_), _page_client() as client:
            fetcher = PageFetcher(client, settings, resolver=_loopback)
            app_.state.runner = SearchRunner(
                settings, app_.state.store, Source(), fetcher, LocalEnricher()
            )
            yield

    app.router.lifespan_context = offline
    return app


def _page_client() -> httpx.AsyncClient:
    page = PAGE.read_bytes()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            stream=httpx.ByteStream(page),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def _loopback(host: str, port: int) -> list[IPAddress]:
    return [ip_address("127.0.0.1")]
