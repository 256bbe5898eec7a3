"""HTTP Sink delivery: each connector property, against a loopback capture webhook."""

from __future__ import annotations

import itertools
import json
import logging
import random
from pathlib import Path

import httpx
import pytest
from emulator_support import (
    TOKEN,
    TOPIC,
    CaptureServer,
    connector_config,
    produce,
    records,
    settings,
    wait_for,
)

from jobsearch.connector.config import ConnectorConfig
from jobsearch.emulator import Emulator, EventLog
from jobsearch.emulator.body import java_string
from jobsearch.emulator.delivery import backoff_seconds
from jobsearch.emulator.tasks import READ_AHEAD

VALUE = {"search_id": "s-1", "query": "python", "limit": 5, "remote": True}
BARE = b'{"search_id":"s-1","query":"python","limit":5,"remote":true}'


def _emulator(tmp_path: Path, capture: CaptureServer, **overrides: str) -> Emulator:
    url = overrides.pop("url", f"{capture.url}/hook")
    return Emulator(
        settings(),
        connector_config(url, **overrides),
        port=0,
        database=tmp_path / "emulator.sqlite3",
        poll_seconds=0.05,
    )


async def test_delivery_repository_config_posts_bare_json_with_bearer(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """The repository config POSTs the bare value with both configured headers."""
    async with _emulator(tmp_path, capture) as emulator:
        await produce(emulator, VALUE)
        await wait_for(lambda: len(capture.requests) == 1)

    sent = capture.requests[0]
    assert (sent.method, sent.path, sent.body) == ("POST", "/hook", BARE)
    assert sent.header("content-type") == "application/json"
    assert sent.header("authorization") == f"Bearer {TOKEN}"
    assert sent.header("content-length") == str(len(BARE))


async def test_delivery_url_template_expands_topic_and_key(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """`${topic}` and `${key}` in http.api.url are replaced per record."""
    url = f"{capture.url}/t/${{topic}}?key=${{key}}"
    async with _emulator(tmp_path, capture, url=url) as emulator:
        await produce(emulator, VALUE, key="user-7")
        await wait_for(lambda: len(capture.requests) == 1)

    assert capture.requests[0].path == f"/t/{TOPIC}"
    assert capture.requests[0].query == "key=user-7"


@pytest.mark.parametrize(
    ("overrides", "body"),
    [
        ({"request.body.format": "string"}, b"{search_id=s-1, query=python, limit=5, "
         b"remote=true}"),
        ({"batch.json.as.array": "true"}, b"[" + BARE + b"]"),
        ({"header.separator": "|", "headers": "Content-Type: application/json|X-A: 1",
          "request.method": "PUT"}, BARE),
    ],
)  # fmt: skip
async def test_delivery_body_settings_shape_the_request(
    tmp_path: Path, capture: CaptureServer, overrides: dict[str, str], body: bytes
) -> None:
    """Body format, array wrapping, method and extra headers reach the wire as set."""
    async with _emulator(tmp_path, capture, **overrides) as emulator:
        await produce(emulator, VALUE)
        await wait_for(lambda: len(capture.requests) == 1)

    sent = capture.requests[0]
    assert sent.body == body
    assert sent.method == overrides.get("request.method", "POST")
    if "X-A" in overrides.get("headers", ""):
        assert sent.header("x-a") == "1"


async def test_delivery_batch_of_three_wraps_in_one_array(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """batch.max.size=3 with arrays sends three records of a partition at once."""
    batching = {"batch.max.size": "3", "batch.json.as.array": "true", "tasks.max": "1"}
    async with _emulator(tmp_path, capture, **batching) as emulator:
        assert emulator.connector is not None
        await emulator.connector.stop()
        for n in range(3):
            await produce(emulator, {"n": n}, key="same")
        assert emulator.log is not None
        await emulator.connector.start(emulator.log)
        await wait_for(lambda: len(capture.requests) == 1)

    assert capture.requests[0].body == b'[{"n":0},{"n":1},{"n":2}]'


async def test_delivery_retryable_status_retries_with_growing_backoff(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """500, 503, 429, 200: four attempts, waits of at least 50, 100, 200 ms."""
    capture.script = [(500, b"", {}), (503, b"", {}), (429, b"", {})]
    async with _emulator(tmp_path, capture, **{"retry.backoff.ms": "100"}) as emulator:
        await produce(emulator, VALUE)
        await wait_for(lambda: len(capture.requests) == 4)
        await wait_for(lambda: bool(records(emulator.database, "success-lcc-local")))

    times = [request.at for request in capture.requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert [
        gap >= floor for gap, floor in zip(gaps, (0.05, 0.1, 0.2), strict=True)
    ] == [
        True,
        True,
        True,
    ]
    assert {request.body for request in capture.requests} == {BARE}


@pytest.mark.parametrize(
    ("codes", "status", "attempts"),
    [
        ("408,429,500-", 400, 1),
        ("408,429,500-", 307, 1),
        ("400-", 400, 6),
        ("408,429,500-", 500, 6),
    ],
)
async def test_delivery_failure_attempts_then_error_topic(
    tmp_path: Path, capture: CaptureServer, codes: str, status: int, attempts: int
) -> None:
    """Only listed statuses are retried (max.retries=5); 3xx is never followed."""
    capture.default = (status, b"nope", {"Location": f"{capture.url}/elsewhere"})
    overrides = {"retry.on.status.codes": codes, "retry.backoff.ms": "1"}
    async with _emulator(tmp_path, capture, **overrides) as emulator:
        await produce(emulator, VALUE)
        await wait_for(lambda: bool(records(emulator.database, "error-lcc-local")))

    assert len(capture.requests) == attempts
    assert {request.path for request in capture.requests} == {"/hook"}
    error = records(emulator.database, "error-lcc-local")[0]
    assert error.header("status_code") == str(status)
    assert error.header("response_content") == "nope"
    assert error.header("input_record_topic") == TOPIC
    assert error.header("input_record_offset") == "0"
    assert error.header("payload") == BARE.decode()
    assert error.header("url") == f"{capture.url}/hook"
    assert (error.value or b"").startswith(b"Retry time lapsed")


async def test_delivery_slow_webhook_times_out_and_retries(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """An answer slower than http.request.timeout.ms is retried, then reported."""
    capture.delay = 0.3
    overrides = {"http.request.timeout.ms": "100", "max.retries": "1"}
    async with _emulator(tmp_path, capture, **overrides) as emulator:
        await produce(emulator, VALUE)
        await wait_for(lambda: bool(records(emulator.database, "error-lcc-local")))

    error = records(emulator.database, "error-lcc-local")[0]
    assert len(capture.requests) == 2
    assert error.header("exception") == "ReadTimeout"
    assert error.header("status_code") is None


async def test_delivery_fail_behaviour_stops_task_without_commit(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """behavior.on.error=fail stops the task; nothing is committed or skipped."""
    capture.default = (400, b"bad", {})
    overrides = {"behavior.on.error": "fail", "tasks.max": "1"}
    async with _emulator(tmp_path, capture, **overrides) as emulator:
        await produce(emulator, VALUE, key="k")
        await wait_for(lambda: emulator.task_states == ["FAILED"])
        await produce(emulator, VALUE, key="k")
        log = emulator.log
        assert log is not None
        committed = [log.committed("connect-lcc-local", TOPIC, p) for p in range(3)]

    assert len(capture.requests) == 1
    assert committed == [0, 0, 0]
    assert records(emulator.database, "error-lcc-local") == []


@pytest.mark.parametrize(
    ("behaviour", "method", "error_topic_count"),
    [("ignore", None, 0), ("delete", "DELETE", 0), ("fail", None, 1)],
)
async def test_delivery_null_value_follows_behaviour(
    tmp_path: Path,
    capture: CaptureServer,
    behaviour: str,
    method: str | None,
    error_topic_count: int,
) -> None:
    """Tombstones are skipped, sent as DELETE, or reported, per the setting."""
    overrides = {"behavior.on.null.values": behaviour}
    async with _emulator(tmp_path, capture, **overrides) as emulator:
        await produce(emulator, None, key="gone")
        await produce(emulator, VALUE, key="gone")
        await wait_for(lambda: any(r.body == BARE for r in capture.requests))

    methods = [request.method for request in capture.requests]
    assert methods == ([method] if method else []) + ["POST"]
    if method:
        assert capture.requests[0].body == b""
    assert len(records(emulator.database, "error-lcc-local")) == error_topic_count


async def test_delivery_two_tasks_deliver_partitions_concurrently_in_order(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """tasks.max=3 overlaps partitions while each partition stays in order."""
    capture.delay = 0.05
    async with _emulator(tmp_path, capture, **{"tasks.max": "3"}) as emulator:
        for n in range(12):
            await produce(emulator, {"key": n % 4, "n": n}, key=f"user-{n % 4}")
        await wait_for(lambda: len(capture.requests) == 12)

    seen: dict[int, list[int]] = {}
    for request in capture.requests:
        body = json.loads(request.body)
        seen.setdefault(body["key"], []).append(body["n"])
    assert all(order == sorted(order) for order in seen.values())
    assert capture.max_in_flight >= 2


async def test_delivery_success_topic_holds_response_and_source(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """A 2xx writes the response body to the success topic, tagged with its input."""
    capture.default = (202, b'{"accepted":true}', {})
    async with _emulator(tmp_path, capture) as emulator:
        report = await produce(emulator, VALUE)
        await wait_for(lambda: bool(records(emulator.database, "success-lcc-local")))

    success = records(emulator.database, "success-lcc-local")[0]
    assert success.value == b'{"accepted":true}'
    assert success.header("input_record_partition") == str(report["partition_id"])


async def test_delivery_non_json_value_goes_to_dlq(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """A value the JSON converter cannot read lands in the DLQ, not at the webhook."""
    async with _emulator(tmp_path, capture) as emulator:
        await produce(emulator, "not json", value_type="STRING")
        await produce(emulator, VALUE)
        await wait_for(lambda: len(capture.requests) == 1)
        await wait_for(lambda: bool(records(emulator.database, "dlq-lcc-local")))

    dead = records(emulator.database, "dlq-lcc-local")[0]
    assert dead.value == b"not json"
    assert dead.header("__connect.errors.topic") == TOPIC


async def test_delivery_restart_resumes_from_committed_offset(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """A restarted emulator delivers only what it had not committed."""
    async with _emulator(tmp_path, capture) as emulator:
        await produce(emulator, {"n": 1})
        await wait_for(lambda: len(capture.requests) == 1)
        await wait_for(lambda: bool(records(emulator.database, "success-lcc-local")))
    async with _emulator(tmp_path, capture) as emulator:
        await produce(emulator, {"n": 2})
        await wait_for(lambda: len(capture.requests) == 2)

    assert [request.body for request in capture.requests] == [b'{"n":1}', b'{"n":2}']


async def test_emulator_unhonoured_property_is_named_in_warning(
    tmp_path: Path, capture: CaptureServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A property the emulator cannot reproduce is named at start."""
    caplog.set_level(logging.WARNING, logger="jobsearch.emulator")
    overrides = {"https.ssl.protocol": "TLSv1.2", "regex.patterns": "a"}
    async with _emulator(tmp_path, capture, **overrides):
        pass

    fields = [getattr(r, "fields", {}) for r in caplog.records]
    assert {"properties": "https.ssl.protocol,regex.patterns"} in fields


def test_backoff_exponential_with_jitter_stays_in_band() -> None:
    """Retry n waits between half and all of backoff * 2^(n-1)."""
    config = ConnectorConfig.from_mapping(connector_config("https://example.test"))
    rng = random.Random(7)

    waits = [backoff_seconds(config, retry, rng) for retry in (1, 2, 3)]

    assert [0.005 <= waits[0] <= 0.01, 0.01 <= waits[1] <= 0.02] == [True, True]
    assert 0.02 <= waits[2] <= 0.04


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (
            {"a": 1, "b": [1.5, None], "c": {"d": False}},
            "{a=1, b=[1.5, null], c={d=false}}",
        ),
        (50.0, "50.0"),
        (1e20, "1.0E20"),
        ("plain", "plain"),
    ],
)
def test_java_string_matches_connector_string_format(value: object, text: str) -> None:
    """The string body format renders values as Java's toString does."""
    assert java_string(value) == text


async def test_delivery_more_records_than_read_ahead_all_in_order_and_committed(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """300 records of one partition (past one read-ahead) arrive in order, committed."""
    count = READ_AHEAD + 44
    emulator = _emulator(tmp_path, capture, **{"tasks.max": "1"})
    async with emulator:
        await _produce_many(emulator, [{"n": n} for n in range(count)], key="same")
        await wait_for(lambda: len(capture.requests) == count)
    log = EventLog(emulator.database)
    try:
        committed = [log.committed("connect-lcc-local", TOPIC, p) for p in range(3)]
    finally:
        log.close()

    assert [json.loads(r.body)["n"] for r in capture.requests] == list(range(count))
    assert sorted(committed) == [0, 0, count]
    assert len(records(emulator.database, "success-lcc-local")) == count


async def _produce_many(emulator: Emulator, values: list[object], key: str) -> None:
    body = "".join(
        json.dumps({"key": {"type": "STRING", "data": key},
                    "value": {"type": "JSON", "data": value}})
        for value in values
    )  # fmt: skip
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        response = await client.post(
            f"/kafka/v3/clusters/lkc-local/topics/{TOPIC}/records",
            content=body, headers={"Content-Type": "application/json"},
            auth=("local", "local"),
        )  # fmt: skip
    assert response.text.count('"error_code":200') == len(values)
