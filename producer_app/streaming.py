"""Produce searches over REST v3 produce streams: many records per chunked request.

Confluent Cloud's Basic and Standard clusters take 25 produce requests per second but
1000 streamed records per second, so concurrent searches share one chunked request
whose body is the concatenated records and whose answer is one delivery report per
record, in the same order (confluent.md 1.6-1.7). Success rules are those of
`producer_app.confluent`.

httpx writes the whole request body before it reads the answer (httpcore's HTTP/1.1
connection is half-duplex), so each stream is a window: it carries the records waiting
when it opens plus those that arrive while it writes, ends its body, then reads the
reports. One window writes at a time and windows open at most every `window_seconds`,
so one process sends at most `1 / window_seconds` requests and
`max_records / window_seconds` records per second; a lone search is sent at once.

Delivery is at least once. A record whose report never arrived (the stream broke) is
sent again on a later stream, and the broker may already hold it; the sink is
idempotent on `search_id`, so the duplicate changes nothing downstream.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from jobsearch.errors import UpstreamError
from jobsearch.logs import log_fields
from jobsearch.settings import Settings
from producer_app.confluent import (
    JSON_HEADERS,
    SERVICE,
    ConfluentProducer,
    ProduceReceipt,
    RetryableProduceError,
    json_object,
    judge_report,
    transient,
)

logger = logging.getLogger("jobsearch.producer.streaming")

# 10 requests and 1000 records per second: inside a Basic or Standard cluster's limits.
WINDOW_SECONDS = 0.1
MAX_RECORDS = 100


@dataclass
class _Entry:
    """One search's record and the future its delivery report settles."""

    content: bytes
    future: asyncio.Future[ProduceReceipt]


@dataclass
class _Window:
    """One produce request: the records it wrote, in order, and how many are judged."""

    entries: list[_Entry] = field(default_factory=list)
    judged: int = 0
    body_closed: asyncio.Event = field(default_factory=asyncio.Event)

    def settle_next(self, report: dict[str, Any]) -> None:
        """Judge the next record's report; reports beyond the records are ignored."""
        if self.judged >= len(self.entries):
            return
        entry = self.entries[self.judged]
        self.judged += 1
        try:
            receipt = judge_report(200, report)
        except UpstreamError as exc:
            _settle(entry.future, exc)
        else:
            _settle(entry.future, receipt)

    def fail_all(self, error: UpstreamError) -> None:
        """Fail every record not yet judged with `error`."""
        for entry in self.entries[self.judged :]:
            _settle(entry.future, error)
        self.judged = len(self.entries)


class StreamingProducer(ConfluentProducer):
    """Sends searches over shared produce streams; retries and `ping` as its base."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        *,
        window_seconds: float = WINDOW_SECONDS,
        max_records: int = MAX_RECORDS,
    ) -> None:
        super().__init__(client, settings)
        self._attempt_timeout = settings.produce_read_timeout + window_seconds
        self._window_seconds = window_seconds
        self._max_records = max_records
        self._waiting: deque[_Entry] = deque()
        self._arrived = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._windows: set[asyncio.Task[None]] = set()
        self._closed = False

    async def aclose(self) -> None:
        """Send what is waiting, wait for open streams, then refuse new searches."""
        self._closed = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        if self._waiting:
            self._open_window()
        if self._windows:
            await asyncio.wait(set(self._windows), timeout=self._attempt_timeout)
        for task in set(self._windows):
            task.cancel()
        await asyncio.gather(*self._windows, return_exceptions=True)
        self._fail_waiting(_closed_error())

    async def _send(self, content: bytes) -> ProduceReceipt:
        # One attempt of the inherited `produce`: wait for this record's report.
        if self._closed:
            raise _closed_error()
        future: asyncio.Future[ProduceReceipt] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting.append(_Entry(content, future))
        self._arrived.set()
        if self._dispatcher is None:
            self._dispatcher = asyncio.create_task(self._dispatch())
        try:
            async with asyncio.timeout(self._attempt_timeout):
                # A timed-out future is cancelled, so no window writes it later.
                return await future
        except TimeoutError as exc:
            raise transient("timed out", "queue_unavailable") from exc

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            opened = loop.time()
            window = self._open_window()
            await window.body_closed.wait()
            await asyncio.sleep(opened + self._window_seconds - loop.time())
            if not self._waiting:
                self._arrived.clear()

    def _open_window(self) -> _Window:
        window = _Window()
        task = asyncio.create_task(self._run(window))
        self._windows.add(task)
        task.add_done_callback(self._windows.discard)
        return window

    async def _run(self, window: _Window) -> None:
        try:
            await self._exchange(window)
        except httpx.TimeoutException as exc:
            self._broken(window, transient("timed out", "queue_unavailable"), exc)
        except httpx.HTTPError as exc:
            self._broken(window, transient("unreachable", "queue_unavailable"), exc)
        finally:
            window.body_closed.set()
            window.fail_all(transient("stream ended early", "queue_unavailable"))

    async def _exchange(self, window: _Window) -> None:
        body = self._body(window)
        async with self._client.stream(
            "POST", self._path, content=body, headers=JSON_HEADERS
        ) as response:
            if response.status_code != 200:
                await response.aread()
                window.fail_all(_refused(response))
                return
            reports = ReportReader()
            async for chunk in response.aiter_bytes():
                for report in reports.feed(chunk):
                    window.settle_next(report)

    async def _body(self, window: _Window) -> AsyncIterator[bytes]:
        try:
            while self._waiting and len(window.entries) < self._max_records:
                chunk = self._take(window)
                if chunk:
                    yield chunk
        finally:
            window.body_closed.set()

    def _take(self, window: _Window) -> bytes:
        parts = []
        while self._waiting and len(window.entries) < self._max_records:
            entry = self._waiting.popleft()
            if not entry.future.done():
                window.entries.append(entry)
                parts.append(entry.content)
        return b"".join(parts)

    def _broken(
        self, window: _Window, error: RetryableProduceError, cause: Exception
    ) -> None:
        logger.warning(
            "produce stream broke; unreported records go on a new stream",
            extra=log_fields(
                sent=len(window.entries),
                reported=window.judged,
                error=type(cause).__name__,
            ),
        )
        window.fail_all(error)
        # Records still waiting were never sent, so retrying them cannot duplicate.
        self._fail_waiting(error)

    def _fail_waiting(self, error: UpstreamError) -> None:
        while self._waiting:
            _settle(self._waiting.popleft().future, error)


class ReportReader:
    """Delivery reports read incrementally from concatenated JSON objects."""

    def __init__(self) -> None:
        self._text = ""
        # A broken byte must not kill the reader: it spoils that report only, and a
        # stream that ends without a report is retried like any broken stream.
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._json = json.JSONDecoder()

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """The reports completed by `chunk`, in order; a partial one waits for more."""
        self._text += self._utf8.decode(chunk)
        reports: list[dict[str, Any]] = []
        while True:
            self._text = self._text.lstrip()
            try:
                value, end = self._json.raw_decode(self._text)
            except (json.JSONDecodeError, RecursionError):
                return reports
            self._text = self._text[end:]
            reports.append(value if isinstance(value, dict) else {})


def _refused(response: httpx.Response) -> UpstreamError:
    try:
        judge_report(response.status_code, json_object(response))
    except UpstreamError as exc:
        return exc
    raise AssertionError("unreachable: only HTTP 200 can succeed")  # pragma: no cover


def _settle(
    future: asyncio.Future[ProduceReceipt], outcome: ProduceReceipt | UpstreamError
) -> None:
    if future.done():
        return
    if isinstance(outcome, UpstreamError):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _closed_error() -> UpstreamError:
    return UpstreamError(
        SERVICE, "producer is closing", retryable=True, code="queue_unavailable"
    )
