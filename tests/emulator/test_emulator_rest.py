"""The REST v3 produce endpoint: every answer Confluent Cloud gives."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_support import SPEC, TOPIC
from pydantic import SecretStr

from jobsearch.emulator.limits import ClusterLimits
from jobsearch.emulator.log import EventLog
from jobsearch.emulator.partitioner import partition_for_key
from jobsearch.emulator.rest import RestState, create_rest_app

PATH = f"/kafka/v3/clusters/lkc-local/topics/{TOPIC}/records"
AUTH = ("local", "local")
RECORD = {
    "key": {"type": "STRING", "data": "user-1"},
    "value": {"type": "JSON", "data": {"query": "python", "n": 1}},
    "headers": [{"name": "trace_id", "value": base64.b64encode(b"t-1").decode()}],
}


class FrozenClock:
    """A clock that stays in one second until moved."""

    now = 100.5

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def log(tmp_path: Path) -> Iterator[EventLog]:
    """A fresh log with three partitions per topic."""
    event_log = EventLog(tmp_path / "emulator.sqlite3", partitions=3)
    yield event_log
    event_log.close()


@pytest.fixture
def clock() -> FrozenClock:
    """A frozen clock for the limit mode."""
    return FrozenClock()


@pytest.fixture
async def client(log: EventLog) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the REST app without limits."""
    async with _client(log, limits=None) as value:
        yield value


@pytest.fixture
async def limited(
    log: EventLog, clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the REST app in limit mode, on a frozen clock."""
    async with _client(log, limits=ClusterLimits(clock)) as value:
        yield value


def _client(log: EventLog, limits: ClusterLimits | None) -> httpx.AsyncClient:
    state = RestState(
        cluster_id="lkc-local",
        credentials=("local", SecretStr("local")),
        topics=frozenset({TOPIC, "error-lcc-local"}),
        log=log,
        limits=limits,
    )
    transport = httpx.ASGITransport(app=create_rest_app(state))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _post(client: httpx.AsyncClient, body: bytes | str, **kwargs: Any) -> Any:
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return client.post(
        kwargs.pop("path", PATH), content=body, headers=headers,
        auth=kwargs.pop("auth", AUTH),
    )  # fmt: skip


def _reports(text: str) -> list[dict[str, Any]]:
    decoder, reports, index = json.JSONDecoder(), [], 0
    while text[index:].strip():
        index += len(text[index:]) - len(text[index:].lstrip())
        value, index = decoder.raw_decode(text, index)
        reports.append(value)
    return reports


def _schema(name: str) -> dict[str, Any]:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is absent")
    yaml = pytest.importorskip("yaml")
    schemas = yaml.safe_load(SPEC.read_text())["components"]["schemas"]
    return {**schemas[name], "components": {"schemas": schemas}}


def _validate(body: Any, name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(body, _schema(name))


async def test_produce_valid_record_returns_spec_report(
    client: httpx.AsyncClient, log: EventLog
) -> None:
    """A valid record gets 200 with exactly the ProduceResponse fields."""
    response = await _post(client, json.dumps(RECORD))

    report = response.json()
    assert response.status_code == 200
    assert set(report) == {
        "error_code", "cluster_id", "topic_name", "partition_id", "offset",
        "timestamp", "key", "value",
    }  # fmt: skip
    assert report["error_code"] == 200
    assert report["partition_id"] == partition_for_key(b"user-1", 3)
    assert report["key"] == {"type": "STRING", "size": 6}
    assert report["value"] == {"type": "JSON", "size": len(b'{"query":"python","n":1}')}
    stored = log.records(TOPIC)[0]
    assert stored.value == b'{"query":"python","n":1}'
    assert stored.headers == (("trace_id", b"t-1"),)
    _validate(report, "ProduceResponse")


@pytest.mark.parametrize(
    ("auth", "path", "content_type", "body", "status", "error_code"),
    [
        (("local", "wrong"), PATH, "application/json", RECORD, 401, 40101),
        (None, PATH, "application/json", RECORD, 401, 40101),
        (AUTH, PATH.replace("lkc-local", "lkc-other"), "application/json", RECORD,
         404, 404),
        (AUTH, PATH.replace(TOPIC, "no-such-topic"), "application/json", RECORD,
         404, 40403),
        (AUTH, PATH, "text/plain", RECORD, 415, 415),
        (AUTH, PATH, "application/json", "", 422, 42206),
        (AUTH, PATH, "application/json", '{"key": ', 400, 400),
        (AUTH, PATH, "application/json", {"records": [RECORD]}, 400, 400),
        (AUTH, PATH, "application/json",
         {**RECORD, "headers": [{"name": "h", "value": "not base64!"}]}, 400, 400),
        (AUTH, PATH, "application/json",
         {**RECORD, "headers": [{"name": "h", "value": ""}]}, 400, 400),
    ],
)  # fmt: skip
async def test_produce_rejected_request_returns_confluent_error(
    client: httpx.AsyncClient,
    auth: tuple[str, str] | None,
    path: str,
    content_type: str,
    body: object,
    status: int,
    error_code: int,
) -> None:
    """Each rejected request gets Confluent's status and error_code."""
    content = body if isinstance(body, str) else json.dumps(body)

    response = await client.post(
        path,
        content=content,
        headers={"Content-Type": content_type},
        auth=auth,  # type: ignore[arg-type]
    )

    assert response.status_code == status
    assert response.json()["error_code"] == error_code
    _validate(response.json(), "Error")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "STRING", "data": 5}, "is not a string"),
        ({"type": "BINARY", "data": "%%%"}, "is not a valid base64 string"),
        ({"type": "BINARY", "data": 1}, "is not a base64 string"),
        ({"type": "AVRO", "data": {}}, "Schema Registry"),
    ],
)
async def test_produce_bad_data_reports_400_inside_http_200(
    client: httpx.AsyncClient, value: dict[str, Any], message: str
) -> None:
    """Data that does not fit its type is a per-record 400 in an HTTP 200."""
    response = await _post(client, json.dumps({"value": value}))

    assert response.status_code == 200
    assert response.json()["error_code"] == 400
    assert message in response.json()["message"]


@pytest.mark.parametrize(
    ("part", "size"),
    [
        ({"type": "STRING", "data": "héllo"}, 6),
        ({"type": "JSON", "data": [1, 2]}, 5),
        ({"type": "BINARY", "data": base64.b64encode(b"\x00\x01\x02").decode()}, 3),
    ],
)
async def test_produce_each_type_reports_its_byte_size(
    client: httpx.AsyncClient, part: dict[str, Any], size: int
) -> None:
    """STRING, JSON and BINARY keys and values report their stored byte size."""
    response = await _post(client, json.dumps({"key": part, "value": part}))

    assert response.json()["key"] == {"type": part["type"], "size": size}
    assert response.json()["value"] == {"type": part["type"], "size": size}


async def test_produce_without_key_or_value_omits_them(
    client: httpx.AsyncClient,
) -> None:
    """A record without key or value has neither object in its report."""
    response = await _post(
        client, json.dumps({"value": {"type": "JSON", "data": None}})
    )

    assert "key" not in response.json()
    assert "value" not in response.json()


async def test_produce_concatenated_records_reports_each_in_order(
    client: httpx.AsyncClient,
) -> None:
    """Three concatenated records get three reports, in order."""
    bodies = [
        {
            "key": {"type": "STRING", "data": "same"},
            "value": {"type": "JSON", "data": n},
        }
        for n in range(3)
    ]
    bodies.insert(1, {"value": {"type": "STRING", "data": 7}})

    response = await _post(client, "\n".join(json.dumps(body) for body in bodies))

    reports = _reports(response.text)
    assert [report["error_code"] for report in reports] == [200, 400, 200, 200]
    assert [report.get("offset") for report in reports] == [0, None, 1, 2]


async def test_produce_chunked_stream_reports_each_record(
    client: httpx.AsyncClient,
) -> None:
    """Records split across chunks of a streamed request each get a report."""
    text = "".join(json.dumps({**RECORD, "partition_id": n % 3}) for n in range(5))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(text), 37):
            yield text[start : start + 37].encode()

    response = await client.post(
        PATH, content=chunks(), headers={"Content-Type": "application/json"}, auth=AUTH
    )

    reports = _reports(response.text)
    assert [report["partition_id"] for report in reports] == [0, 1, 2, 0, 1]
    assert [report["offset"] for report in reports] == [0, 0, 0, 1, 1]


async def test_produce_malformed_record_mid_stream_ends_with_report(
    client: httpx.AsyncClient,
) -> None:
    """A malformed second record gets a 400 report after the first's success."""
    response = await _post(client, json.dumps(RECORD) + "{oops")

    assert [r["error_code"] for r in _reports(response.text)] == [200, 400]


async def test_produce_partition_out_of_range_reports_40403(
    client: httpx.AsyncClient,
) -> None:
    """A partition_id the topic lacks is a per-record 40403."""
    response = await _post(client, json.dumps({**RECORD, "partition_id": 3}))

    assert response.json()["error_code"] == 40403


@pytest.mark.parametrize(("method", "status"), [("GET", 405), ("POST", 404)])
async def test_produce_unknown_route_returns_json_error(
    client: httpx.AsyncClient, method: str, status: int
) -> None:
    """Other routes and methods answer with Confluent's Error body."""
    path = PATH if method == "GET" else "/kafka/v3/clusters"

    response = await client.request(method, path, auth=AUTH)

    assert response.status_code == status
    assert response.json()["error_code"] == status


async def test_limit_mode_26th_request_gets_html_429(
    limited: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """In limit mode the 26th request in one second gets HTML 429, no Retry-After."""
    for _ in range(25):
        assert (await _post(limited, json.dumps(RECORD))).status_code == 200

    refused = await _post(limited, json.dumps(RECORD))
    clock.now += 1
    later = await _post(limited, json.dumps(RECORD))

    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert "Retry-After" not in refused.headers
    assert "HTTP ERROR 429" in refused.text
    assert later.status_code == 200


async def test_limit_mode_1001st_streamed_record_reports_429(
    limited: httpx.AsyncClient,
) -> None:
    """In limit mode records past 1000 in one second get per-record 429."""
    small = json.dumps({"value": {"type": "JSON", "data": 1}})

    response = await _post(limited, small * 1002)

    codes = [report["error_code"] for report in _reports(response.text)]
    assert codes.count(200) == 1000
    assert codes[1000:] == [429, 429]
