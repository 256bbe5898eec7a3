"""A fault-injecting HTTP/1.1 proxy between the connector and the sink instances.

It speaks just enough HTTP/1.1 for the connector's requests (a Content-Length body,
keep-alive) on a raw asyncio socket, because the faults it injects live below HTTP:
closing a connection without an answer, or after the sink did the work.

Faults, one per request at most:
- `refuse`: answer 503 without forwarding.
- `fail_after`: forward, then answer 500 whatever the sink said.
- `slow`: forward, then hold the answer past the connector's timeout.
- `drop`: close the connection without forwarding or answering.
- `lose`: forward, then close the connection; the work is done, the answer lost.
- `kill`: forward, then kill that sink instance mid-request and restart it.
A record chosen as `doomed` is refused on every attempt while faults are on, so it
exhausts the connector's retries and lands in the error topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from jobsearch.chaos.faults import Dice
from jobsearch.chaos.sinks import SinkPool

PROXY_FAULTS = ("refuse", "fail_after", "slow", "drop", "lose", "kill")
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
MAX_REQUESTS_PER_CONNECTION = 10_000
FORWARD_TIMEOUT = 30.0
_REASONS = {200: "OK", 500: "Internal Server Error", 502: "Bad Gateway"}
_PASSED_HEADERS = ("content-type", "retry-after")


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class FaultProxy:
    """Forwards each request to a live sink instance, injecting faults on the way."""

    def __init__(
        self,
        pool: SinkPool,
        dice: Dice,
        *,
        slow_seconds: float,
        doomed: Callable[[Mapping[str, object]], bool],
    ) -> None:
        self.pool = pool
        self.dice = dice
        self.slow_seconds = slow_seconds
        self.doomed = doomed
        self.statuses: Counter[str] = Counter()
        self.requests = 0
        self.moved = 0
        self.redeliveries = 0
        self._last_instance: dict[str, int] = {}
        self._server: asyncio.Server | None = None
        self._client: httpx.AsyncClient | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The base URL the connector posts to."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._client = httpx.AsyncClient(timeout=FORWARD_TIMEOUT, trust_env=False)
        self._server = await asyncio.start_server(
            self._connection, "127.0.0.1", 0, limit=MAX_HEAD_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and reset every open connection."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await self._server.wait_closed()
        if self._client is not None:
            await self._client.aclose()
        self._server = self._client = None

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        try:
            for _ in range(MAX_REQUESTS_PER_CONNECTION):
                request = await _read_request(reader)
                if request is None or not await self._serve(request, writer):
                    break
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _serve(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must close."""
        self.requests += 1
        record = _record(request.body)
        search_id = record.get("search_id")
        search_id = search_id if isinstance(search_id, str) else None
        if self.dice.enabled and self.doomed(record):
            self.dice.counts["doomed"] += 1
            return await _write(writer, _Answer(503, {}, b'{"error":"doomed"}'))
        fault = self.dice.roll()
        if fault == "drop":
            return False
        if fault == "refuse":
            return await _write(writer, _Answer(503, {}, b'{"error":"refused"}'))
        answer = await self._forward(request, search_id, kill=fault == "kill")
        return await self._answer_after(fault, answer, writer)

    async def _answer_after(
        self, fault: str | None, answer: _Answer, writer: asyncio.StreamWriter
    ) -> bool:
        if fault == "lose":
            return False
        if fault == "fail_after":
            return await _write(writer, _Answer(500, {}, b'{"error":"injected"}'))
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        return await _write(writer, answer)

    async def _forward(
        self, request: _Request, search_id: str | None, *, kill: bool
    ) -> _Answer:
        chosen = self.pool.pick()
        if chosen is None or self._client is None:
            return _Answer(502, {}, b'{"error":"no_instance"}')
        index, base_url = chosen
        self._note_instance(search_id, index)
        if kill:
            self.pool.kill_soon(index, self.dice.rng.uniform(0.0, 0.3))
        headers = {
            name: value
            for name, value in request.headers.items()
            if name in ("authorization", "content-type")
        }
        try:
            response = await self._client.request(
                request.method,
                base_url + request.target,
                content=request.body,
                headers=headers,
            )
        except httpx.HTTPError:
            return _Answer(502, {}, b'{"error":"instance_unreachable"}')
        self.statuses[_label(response)] += 1
        kept = {
            name: response.headers[name]
            for name in _PASSED_HEADERS
            if name in response.headers
        }
        return _Answer(response.status_code, kept, response.content)

    def _note_instance(self, search_id: str | None, index: int) -> None:
        if search_id is None:
            return
        previous = self._last_instance.get(search_id)
        if previous is not None:
            self.redeliveries += 1
            self.moved += previous != index
        self._last_instance[search_id] = index


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    except asyncio.LimitOverrunError as exc:
        raise ValueError("request head too large") from exc
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, found, value = line.partition(":")
        if found:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if not 0 <= length <= MAX_BODY_BYTES:
        raise ValueError("request body too large")
    return _Request(method, target, headers, await reader.readexactly(length))


async def _write(writer: asyncio.StreamWriter, answer: _Answer) -> bool:
    headers = {"content-type": "application/json", **answer.headers}
    headers["content-length"] = str(len(answer.body))
    reason = _REASONS.get(answer.status, "Service Unavailable")
    lines = [f"HTTP/1.1 {answer.status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + answer.body)
    with contextlib.suppress(OSError):
        await writer.drain()
    return not writer.is_closing()


def _record(body: bytes) -> dict[str, object]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _label(response: httpx.Response) -> str:
    """The sink's status, with its error code when it refused."""
    if response.status_code < 300:
        return str(response.status_code)
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    return (
        f"{response.status_code} {code}"
        if isinstance(code, str)
        else str(response.status_code)
    )
