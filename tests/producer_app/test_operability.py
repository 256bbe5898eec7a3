"""Health, readiness, metrics and the OpenAPI document of both apps."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpx import HTTPXMock

from producer_app.main import create_app as create_producer
from sink_app.main import create_app as create_sink

CLUSTER_URL = "http://rest.example.test/kafka/v3/clusters/lkc-test"
PRODUCE_URL = f"{CLUSTER_URL}/topics/job-search-requests/records"


async def test_readyz_reflects_queue_and_store(
    serve_app: Any, make_settings: Any, httpx_mock: HTTPXMock
) -> None:
    """Not ready while the REST endpoint is down or the store is closed; ready after."""
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=CLUSTER_URL)
    httpx_mock.add_response(url=CLUSTER_URL, json={"cluster_id": "lkc-test"})
    httpx_mock.add_response(url=CLUSTER_URL, json={"cluster_id": "lkc-test"})
    app = create_producer(make_settings())

    async with serve_app(app) as client:
        down = await client.get("/readyz")
        up = await client.get("/readyz")
        await app.state.store.close()
        store_down = await client.get("/readyz")
        await app.state.store.open()

    assert down.status_code == 503
    assert down.json()["checks"] == {"queue": "UpstreamError", "store": "ok"}
    assert up.status_code == 200
    assert up.json()["status"] == "ready"
    assert store_down.status_code == 503
    assert store_down.json()["checks"]["store"] == "StoreError"


async def test_metrics_parse_and_count_requests(
    serve_app: Any, make_settings: Any, httpx_mock: HTTPXMock
) -> None:
    """`/metrics` parses with the Prometheus parser and counts routes and outcomes."""
    httpx_mock.add_response(url=PRODUCE_URL, json={"error_code": 200})
    app = create_producer(make_settings())

    async with serve_app(app) as client:
        await client.post("/jobs-search", json={"query": "x"})
        await client.post("/jobs-search", json={})
        text = (await client.get("/metrics")).text

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    accepted = (("method", "POST"), ("route", "/jobs-search"), ("status", "202"))
    refused = (("method", "POST"), ("route", "/jobs-search"), ("status", "422"))
    assert samples[("jobsearch_http_requests_total", accepted)] == 1
    assert samples[("jobsearch_http_requests_total", refused)] == 1
    assert samples[("jobsearch_produce_outcomes_total", (("outcome", "ok"),))] == 1


@pytest.mark.parametrize("which", ["producer", "sink"])
async def test_openapi_document_lists_every_route(
    serve_app: Any, make_settings: Any, which: str
) -> None:
    """Each app serves an OpenAPI 3.1 document naming its routes and schemas."""
    factory = create_producer if which == "producer" else create_sink
    app = factory(make_settings(sink_bearer_token="t"))

    async with serve_app(app) as client:
        document = (await client.get("/openapi.json")).json()

    assert document["openapi"] == "3.1.0"
    routes = {route.path for route in app.routes} - {"/openapi.json"}  # type: ignore[attr-defined]
    assert routes <= set(document["paths"])
    for schema in document["components"]["schemas"].values():
        assert "$defs" not in schema


@pytest.mark.parametrize("which", ["producer", "sink"])
async def test_security_headers_on_every_answer(
    serve_app: Any, make_settings: Any, which: str
) -> None:
    """JSON answers, errors included, are neither sniffed, framed nor cached."""
    factory = create_producer if which == "producer" else create_sink
    app = factory(make_settings(sink_bearer_token="t"))

    async with serve_app(app) as client:
        answers = [await client.get("/healthz"), await client.get("/missing")]

    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert "strict-transport-security" not in answer.headers


async def test_metrics_unknown_methods_share_one_label(
    serve_app: Any, make_settings: Any
) -> None:
    """Made-up methods cannot add a series each."""
    app = create_producer(make_settings())

    async with serve_app(app) as client:
        for method in ("BREW", "X" * 300, "PROPFIND"):
            await client.request(method, "/jobs-search")
        text = (await client.get("/metrics")).text

    assert 'method="other"' in text
    assert "BREW" not in text
    assert "PROPFIND" not in text
