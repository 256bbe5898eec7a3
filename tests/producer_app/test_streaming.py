"""The streaming producer against the emulator and a scripted REST v3 stand-in."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from jobsearch.emulator import Emulator
from jobsearch.errors import UpstreamError
from jobsearch.message import SearchMessage
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings
from producer_app.confluent import build_rest_client
from producer_app.streaming import ReportReader, StreamingProducer

TOPIC = "job-search-requests"
RECORDS = "/kafka/v3/clusters/lkc-local/topics/job-search-requests/records"
Script = Callable[[int, int], dict[str, Any] | None]


def message() -> SearchMessage:
    return SearchMessage(
        search_id=uuid.uuid4(),
        query="data engineer",
        requested_at=datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
        trace_id="0af7651916cd43dd8448eb211c80319c",
    )


def local_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
        "emulator_database_url": f"sqlite:///{tmp_path / 'emulator.sqlite3'}",
        "produce_retry_budget": 2.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def ok_report(offset: int) -> dict[str, Any]:
    return {"error_code": 200, "partition_id": 0, "offset": offset}


@dataclass
class ScriptedRest:
    """A REST v3 stand-in: reads each request's records, answers from `script`.

    `script(request_number, record_number)` gives a record's report, or None to
    break the stream there. Only records that got a success report are stored.
    """

    script: Script
    stored: list[str] = field(default_factory=list)
    requests: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Store and report each record, or break the connection mid-answer."""
        request_number = self.requests
        self.requests += 1
        body = await Request(scope, receive).body()
        records = ReportReader().feed(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for number, record in enumerate(records):
            report = self.script(request_number, number)
            if report is None:
                raise ConnectionAbortedError("stream broken on purpose")
            if report["error_code"] == 200:
                self.stored.append(record["key"]["data"])
                report = ok_report(len(self.stored) - 1)
            chunk = json.dumps(report).encode() + b"\r\n"
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    """The real emulator in limit mode, REST only, on a free loopback port."""
    settings = local_settings(tmp_path, emulator_limit_mode=True)
    async with Emulator(settings, None, port=0, database=tmp_path / "e.db") as server:
        yield server


@pytest.fixture
def scripted() -> Callable[[Script], Any]:
    """`async with scripted(script) as (rest, url):` serves a ScriptedRest."""

    def start(script: Script) -> Any:
        return _Serving(ScriptedRest(script))

    return start


class _Serving:
    def __init__(self, rest: ScriptedRest) -> None:
        self.rest = rest
        app = Starlette(routes=[Route(RECORDS, rest, methods=["POST"])])
        self.server = BackgroundServer(app)

    async def __aenter__(self) -> tuple[ScriptedRest, str]:
        await self.server.start()
        return self.rest, self.server.url

    async def __aexit__(self, *exc: object) -> None:
        await self.server.stop()


async def produce_all(
    url: str, tmp_path: Path, messages: list[SearchMessage], **options: Any
) -> list[Any]:
    settings = local_settings(tmp_path, confluent_rest_url=url)
    async with build_rest_client(settings) as client:
        producer = StreamingProducer(client, settings, **options)
        try:
            return await asyncio.gather(
                *(producer.produce(m) for m in messages), return_exceptions=True
            )
        finally:
            await producer.aclose()


def stored_keys(emulator: Emulator) -> list[str]:
    assert emulator.log is not None
    return [(r.key or b"").decode() for r in emulator.log.records(TOPIC)]


async def test_stream_limit_mode_many_searches_each_stored_once(
    emulator: Emulator, tmp_path: Path
) -> None:
    """300 concurrent searches pass the 25 requests/s cap, each stored exactly once."""
    messages = [message() for _ in range(300)]

    results = await produce_all(emulator.url, tmp_path, messages)

    assert not [r for r in results if isinstance(r, Exception)]
    assert len({(r.partition_id, r.offset) for r in results}) == 300
    assert sorted(stored_keys(emulator)) == sorted(m.record_key for m in messages)


async def test_stream_lone_search_gets_its_own_offset(
    emulator: Emulator, tmp_path: Path
) -> None:
    """One search alone is sent at once and its receipt names where it was stored."""
    only = message()

    [receipt] = await produce_all(emulator.url, tmp_path, [only])

    assert emulator.log is not None
    record = emulator.log.get(TOPIC, receipt.partition_id, receipt.offset)
    assert record is not None
    assert record.key == only.record_key.encode()


async def test_stream_broken_mid_way_retries_unreported_without_duplicates(
    scripted: Callable[[Script], Any], tmp_path: Path
) -> None:
    """A stream cut after 3 reports: the rest go on a new stream, none twice."""
    messages = [message() for _ in range(10)]

    def cut_first_stream(request: int, record: int) -> dict[str, Any] | None:
        return None if request == 0 and record == 3 else ok_report(0)

    async with scripted(cut_first_stream) as (rest, url):
        results = await produce_all(url, tmp_path, messages, window_seconds=1.0)

    assert not [r for r in results if isinstance(r, Exception)]
    assert rest.requests >= 2
    assert sorted(rest.stored) == sorted(m.record_key for m in messages)
    assert sorted(r.offset for r in results) == list(range(10))


@pytest.mark.parametrize(
    ("first_code", "retryable", "code"),
    [
        (429, None, None),
        (50003, None, None),
        (500, None, None),
        (40403, False, "topic_not_found"),
        (400, False, "queue_rejected"),
        (40101, False, "queue_rejected"),
    ],
)
async def test_stream_report_error_code_retries_or_rejects(
    scripted: Callable[[Script], Any],
    tmp_path: Path,
    first_code: int,
    retryable: bool | None,
    code: str | None,
) -> None:
    """A record's own error_code decides: transient codes retry, others reject it."""
    messages = [message() for _ in range(3)]

    def middle_fails_once(request: int, record: int) -> dict[str, Any]:
        if request == 0 and record == 1:
            return {"error_code": first_code, "message": "scripted"}
        return ok_report(0)

    async with scripted(middle_fails_once) as (rest, url):
        results = await produce_all(url, tmp_path, messages, window_seconds=1.0)

    neighbours = [results[0], results[2]]
    assert not [r for r in neighbours if isinstance(r, Exception)]
    if retryable is None:
        assert not isinstance(results[1], Exception)
        assert sorted(rest.stored) == sorted(m.record_key for m in messages)
    else:
        assert isinstance(results[1], UpstreamError)
        assert (results[1].retryable, results[1].code) == (retryable, code)
        assert messages[1].record_key not in rest.stored


@pytest.mark.parametrize(
    ("status", "body", "retryable", "code"),
    [
        (429, b"<html>Too Many Requests</html>", True, "rate_limited"),
        (401, b'{"error_code":40101,"message":"Authentication failed"}', False,
         "queue_rejected"),
        (404, b'{"error_code":40403,"message":"no such topic"}', False,
         "topic_not_found"),
        (503, b"", True, "queue_unavailable"),
    ],
)  # fmt: skip
async def test_stream_refused_request_fails_its_searches(
    httpx_mock: Any,
    tmp_path: Path,
    status: int,
    body: bytes,
    retryable: bool,
    code: str,
) -> None:
    """A request refused as a whole maps every search in it like confluent.py does."""
    httpx_mock.add_response(status_code=status, content=body, is_reusable=True)

    results = await produce_all("http://rest.example.test", tmp_path, [message()])

    assert isinstance(results[0], UpstreamError)
    assert (results[0].retryable, results[0].code) == (retryable, code)
    request = httpx_mock.get_requests()[0]
    assert request.url.path == RECORDS
    assert request.headers["content-type"] == "application/json"


async def test_stream_unreachable_endpoint_is_retryable(
    httpx_mock: Any, tmp_path: Path
) -> None:
    """A refused connection ends in a retryable error once the retries are spent."""
    httpx_mock.add_exception(httpx.ConnectError("refused"), is_reusable=True)

    results = await produce_all("http://rest.example.test", tmp_path, [message()])

    assert isinstance(results[0], UpstreamError)
    assert (results[0].retryable, results[0].code) == (True, "queue_unavailable")
    assert len(httpx_mock.get_requests()) == 3


async def test_stream_closed_producer_refuses_new_searches(tmp_path: Path) -> None:
    """After `aclose` a search fails at once with a retryable error."""
    settings = local_settings(tmp_path)
    async with httpx.AsyncClient(base_url="http://rest.example.test") as client:
        producer = StreamingProducer(client, settings)
        await producer.aclose()
        with pytest.raises(UpstreamError) as caught:
            await producer.produce(message())
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b'{"error_code":200}{"error_code":429}'], [200, 429]),
        ([b'{"error_', b'code":200}\r\n{"error_code"', b":500}\r\n"], [200, 500]),
        ([b'{"error_code":200,"m":"\xc3', b'\xa9"}'], [200]),
        ([b"  \r\n", b'{"error_code":200}'], [200]),
    ],
)
def test_report_reader_split_chunks_yield_whole_reports(
    chunks: list[bytes], expected: list[int]
) -> None:
    """Reports split anywhere, even inside a UTF-8 character, come out whole."""
    reader = ReportReader()

    reports = [report for chunk in chunks for report in reader.feed(chunk)]

    assert [report["error_code"] for report in reports] == expected


def test_report_reader_bytes_that_are_not_utf8_yield_no_report() -> None:
    """Invalid bytes raise nothing; the stream then ends short and is retried."""
    from producer_app.streaming import ReportReader

    reader = ReportReader()

    assert reader.feed(b"\xff\xfe{") == []
    assert reader.feed(b'}{"error_code": 200}') == []
