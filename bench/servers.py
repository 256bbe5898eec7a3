"""Each measured app, run alone under uvicorn: `python -m bench.servers KIND PORT`.

Every app gets the same uvicorn settings. Configuration comes from the environment,
so the parent process decides URLs, databases and modes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from jobsearch.settings import load_settings

REPORT = json.dumps(
    {"error_code": 200, "cluster_id": "lkc-local", "topic_name": "job-search-requests",
     "partition_id": 0, "offset": 0, "timestamp": "2026-12-04T10:00:00Z"}
).encode()  # fmt: skip


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def rest_mock(scope: Scope, receive: Receive, send: Send) -> None:
    """A REST v3 produce endpoint that answers one success report at once."""
    if scope["type"] != "http":
        return
    await _body(receive)
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": REPORT})


def bare_accept() -> ASGIApp:
    """The least endpoint: parse the JSON body, answer 202."""

    async def accept(request: Request) -> Response:
        json.loads(await request.body())
        return JSONResponse({"status": "queued"}, status_code=202)

    return Starlette(routes=[Route("/jobs-search", accept, methods=["POST"])])


def bare_forwarder() -> ASGIApp:
    """Parse the JSON body, POST one record upstream through a shared client, 202."""
    upstream = os.environ["BENCH_UPSTREAM"]
    client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
    )

    async def forward(request: Request) -> Response:
        body = json.loads(await request.body())
        record = {"value": {"type": "JSON", "data": body}}
        answer = await client.post(upstream, json=record)
        answer.raise_for_status()
        return JSONResponse({"status": "queued"}, status_code=202)

    return Starlette(routes=[Route("/jobs-search", forward, methods=["POST"])])


def producer() -> ASGIApp:
    """producer_app; `BENCH_PRODUCE_MODE=stream` swaps in the streaming producer."""
    from producer_app.main import create_app
    from producer_app.streaming import StreamingProducer

    settings = load_settings()
    app = create_app(settings)
    if os.environ.get("BENCH_PRODUCE_MODE") != "stream":
        return app
    original = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with original(app):
            current = app.state.producer
            if not isinstance(current, StreamingProducer):
                app.state.producer = StreamingProducer(current._client, settings)
            try:
                yield
            finally:
                await app.state.producer.aclose()

    app.router.lifespan_context = lifespan
    return app


class TrivialSink:
    """Answers every POST with 200 and counts them; `GET /stats` says how many."""

    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count a POST, or report the counts."""
        if scope["type"] != "http":
            return
        await _body(receive)
        if scope["method"] == "GET":
            body = json.dumps(
                {"count": self.count, "first": self.first, "last": self.last}
            ).encode()
        else:
            self.last = time.monotonic()
            self.first = self.first or self.last
            self.count += 1
            body = b'{"ok":true}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def sink() -> ASGIApp:
    """sink_app with a slow search, slow model and a store whose writes cost 20 ms."""
    from bench.fakes import SlowModel, SlowSearch, SlowStore
    from jobsearch.store import open_store
    from sink_app.main import create_app

    settings = load_settings()
    return create_app(
        settings,
        provider=SlowSearch(os.environ["BENCH_PAGES_URL"]),
        enricher=SlowModel(),
        store=SlowStore(open_store(settings)),
    )


def pages() -> ASGIApp:
    """The job-page server with 300-1500 ms latencies."""
    from bench.fakes import page_server

    return page_server


async def _emulator(port: int) -> None:
    from jobsearch.emulator import Emulator

    settings = load_settings()
    connector = None
    path = os.environ.get("BENCH_CONNECTOR")
    if path:
        text = Path(path).read_text()  # noqa: ASYNC240 - once, before serving
        raw = json.loads(os.path.expandvars(text))
        connector = raw["config"]
    emulator = Emulator(settings, connector, port=port)
    await emulator.start()
    await asyncio.Event().wait()


KINDS: dict[str, Callable[[], Any]] = {
    "rest-mock": lambda: rest_mock,
    "bare-accept": bare_accept,
    "bare-forwarder": bare_forwarder,
    "producer": producer,
    "trivial-sink": TrivialSink,
    "sink": sink,
    "pages": pages,
}


def main() -> None:
    """Serve KIND on 127.0.0.1:PORT until terminated."""
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "emulator":
        asyncio.run(_emulator(port))
        return
    uvicorn.run(
        KINDS[kind](),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="auto",
    )


if __name__ == "__main__":
    main()
