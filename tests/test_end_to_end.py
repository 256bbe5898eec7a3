"""The main job on one machine: producer → emulator → HTTP Sink → sink → store."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from jobsearch.demo import run_demo
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings
from jobsearch.stack import StackPorts, local_stack

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "pages"
REAL = REPO.parent / "shared" / "data" / "real"

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(
        confluent_rest_url=None,
        confluent_cluster_id=None,
        confluent_api_key=None,
        confluent_api_secret=None,
        scrape_allow_private=True,
        sink_bearer_token="e2e-token",
    )


async def test_search_from_request_to_rows(
    settings: Settings, final_status: Callable[..., Awaitable[httpx.Response]]
) -> None:
    """A search sent to the producer ends as rows, delivered by the emulator."""
    pages = Starlette(routes=[Mount("/", StaticFiles(directory=EXAMPLES))])
    names = sorted(path.name for path in EXAMPLES.glob("*.html"))
    async with (
        BackgroundServer(pages) as site,
        local_stack(settings, StackPorts(0, 0, 0)) as stack,
        httpx.AsyncClient(base_url=stack.producer_url) as client,
    ):
        accepted = await client.post(
            "/jobs-search",
            json={
                "searchQuery": "engineer",
                "urls": [f"{site.url}/{n}" for n in names],
            },
        )
        assert accepted.status_code == 202
        status = (await final_status(client, accepted.json()["status_url"])).json()

    assert status["status"] == "completed"
    assert status["jobs_found"] >= len(names)
    assert status["search_id"] == accepted.json()["search_id"]


async def test_trace_id_travels_from_request_to_rows_and_logs(
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    final_status: Callable[..., Awaitable[httpx.Response]],
) -> None:
    """A W3C traceparent's trace id reaches the rows and both apps' log lines."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
    pages = Starlette(routes=[Mount("/", StaticFiles(directory=EXAMPLES))])
    caplog.set_level(logging.INFO)
    async with (
        BackgroundServer(pages) as site,
        local_stack(settings, StackPorts(0, 0, 0)) as stack,
        httpx.AsyncClient(base_url=stack.producer_url) as client,
    ):
        accepted = await client.post(
            "/jobs-search",
            json={"query": "x", "urls": [f"{site.url}/01-jsonld-single.html"]},
            headers={"traceparent": traceparent},
        )
        status = (await final_status(client, accepted.json()["status_url"])).json()

    assert accepted.headers["x-request-id"] == trace_id
    assert status["trace_id"] == trace_id
    assert [job["trace_id"] for job in status["jobs"]] == [trace_id]
    loggers = {
        record.name
        for record in caplog.records
        if getattr(record, "fields", {}).get("trace_id") == trace_id
    }
    assert {"jobsearch.producer", "jobsearch.sink"} <= loggers


async def test_demo_on_examples_exits_zero(settings: Settings) -> None:
    """`jobsearch demo` completes on the shipped example pages."""
    assert await run_demo(settings, EXAMPLES, as_json=True) == 0


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real is absent")
async def test_demo_on_real_pages_exits_zero(settings: Settings) -> None:
    """`jobsearch demo --pages ../shared/data/real` completes with jobs."""
    assert await run_demo(settings, REAL, as_json=True) == 0
