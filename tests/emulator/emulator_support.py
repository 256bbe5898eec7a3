"""A capture webhook on loopback and helpers to drive the emulator in tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

from jobsearch.emulator import Emulator, EventLog, Record
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings

TOPIC = "job-search-requests"
TOKEN = "connector-token-for-tests"
REPOSITORY = Path(__file__).resolve().parents[2]
CONNECTOR_FILE = REPOSITORY / "connector/http-sink.json"
SPEC = REPOSITORY.parent / "shared/data/real/confluent-kafka-rest-v3-openapi.yaml"


@dataclass
class Captured:
    """One request the capture webhook received."""

    method: str
    path: str
    query: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        """The first header of that (lower-case) name."""
        for key, value in self.headers:
            if key.decode() == name:
                return value.decode()
        return None


@dataclass
class CaptureServer:
    """Records every request and answers from `script`, then `default`."""

    script: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    default: tuple[int, bytes, dict[str, str]] = (200, b'{"ok":true}', {})
    delay: float = 0.0
    requests: list[Captured] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    url: str = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Capture the request, wait `delay`, answer the next scripted status."""
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        captured = Captured(
            scope["method"], scope["path"], scope["query_string"].decode(),
            list(scope["headers"]), body, time.monotonic(),
        )  # fmt: skip
        self.requests.append(captured)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        status, answer, headers = self.script.pop(0) if self.script else self.default
        raw = [(key.encode(), value.encode()) for key, value in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": answer})


@contextlib.asynccontextmanager
async def serve_capture() -> AsyncIterator[CaptureServer]:
    """Run a capture webhook on 127.0.0.1 with a free port."""
    app = CaptureServer()
    async with BackgroundServer(app) as server:
        app.url = server.url
        yield app


def connector_config(url: str, **overrides: str) -> dict[str, str]:
    """The repository's connector settings, rendered for a loopback webhook."""
    config: dict[str, str] = json.loads(CONNECTOR_FILE.read_text())["config"]
    config.update(
        {
            "topics": TOPIC,
            "kafka.api.key": "key",
            "kafka.api.secret": "secret",
            "http.api.url": url,
            "sensitive.headers": f"Authorization: Bearer {TOKEN}",
            "retry.backoff.ms": "10",
            "http.request.timeout.ms": "2000",
        }
    )
    config.update(overrides)
    return config


def settings() -> Settings:
    """Local defaults, independent of the developer's `.env`."""
    return Settings(_env_file=None, emulator_partitions=3)


async def produce(
    emulator: Emulator,
    value: object,
    *,
    key: str | None = "user-1",
    value_type: str = "JSON",
    topic: str = TOPIC,
) -> dict[str, Any]:
    """Produce one record through the emulator's REST API; returns the report."""
    body: dict[str, Any] = {"value": {"type": value_type, "data": value}}
    if key is not None:
        body["key"] = {"type": "STRING", "data": key}
    body["headers"] = [{"name": "trace_id", "value": base64.b64encode(b"t-1").decode()}]
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        response = await client.post(
            f"/kafka/v3/clusters/lkc-local/topics/{topic}/records",
            json=body,
            auth=("local", "local"),
        )
    report: dict[str, Any] = response.json()
    assert report["error_code"] == 200, report
    return report


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], *, seconds: float = 10.0
) -> None:
    """Poll `condition` every 20 ms until true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def records(database: Path, topic: str) -> list[Record]:
    """Read a topic from the emulator's file."""
    log = EventLog(database)
    try:
        return log.records(topic)
    finally:
        log.close()
