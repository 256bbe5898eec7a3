"""sink_app against real pages on loopback: auth, bodies, idempotency, deadline."""

from __future__ import annotations

import asyncio
import collections
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings
from jobsearch.store import SQLiteStore
from sink_app.main import create_app

TOKEN = "sink-token-current"
OLD_TOKEN = "sink-token-previous"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def posting_page(title: str, company: str, salary: int) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": title,
        "description": f"<p>{title} at {company}. Python and SQL every day.</p>",
        "datePosted": "2026-11-20",
        "hiringOrganization": {"@type": "Organization", "name": company},
        "jobLocation": {
            "@type": "Place",
            "address": {"@type": "PostalAddress", "addressLocality": "Berlin"},
        },
        "baseSalary": {
            "@type": "MonetaryAmount",
            "currency": "EUR",
            "value": {
                "@type": "QuantitativeValue",
                "value": salary,
                "unitText": "YEAR",
            },
        },
    }
    return (
        "<html><head><title>Job</title>"
        f'<script type="application/ld+json">{json.dumps(data)}</script>'
        "</head><body><h1>Job</h1></body></html>"
    )


class PageSite:
    """Job pages on loopback that count every fetch and can be made slow."""

    def __init__(self) -> None:
        self.hits: collections.Counter[str] = collections.Counter()
        self.delays: dict[str, float] = {}
        self.failures: collections.Counter[str] = collections.Counter()
        self.pages = {
            "a": posting_page("Data Engineer", "Acme Analytics", 70000),
            "b": posting_page("Backend Developer", "Borealis GmbH", 80000),
            "c": posting_page("Site Reliability Engineer", "Cobalt AG", 90000),
        }
        self.server = BackgroundServer(Starlette(routes=[Route("/{name}", self.page)]))

    async def page(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.hits[name] += 1
        await asyncio.sleep(self.delays.get(name, 0))
        if self.failures[name] > 0:
            self.failures[name] -= 1
            return HTMLResponse("busy", status_code=503)
        if name not in self.pages:
            return HTMLResponse("gone", status_code=404)
        return HTMLResponse(self.pages[name])

    def url(self, name: str) -> str:
        return f"{self.server.url}/{name}"


@pytest.fixture
async def site() -> AsyncIterator[PageSite]:
    site = PageSite()
    async with site.server:
        yield site


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(
        sink_bearer_token=f"{TOKEN},{OLD_TOKEN}",
        scrape_allow_private=True,
        sink_retry_after_seconds=3,
    )


def message(urls: list[str], **overrides: Any) -> dict[str, Any]:
    body = {
        "version": 1,
        "search_id": str(uuid.uuid4()),
        "user_id": None,
        "query": "engineer",
        "location": None,
        "remote": None,
        "limit": 50,
        "urls": urls,
        "tbs": "qdr:m",
        "requested_at": "2026-12-04T10:00:00.000Z",
        "trace_id": "trace-1",
    }
    body.update(overrides)
    return body


async def deliver(
    client: httpx.AsyncClient, body: Any, **kwargs: Any
) -> httpx.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    if isinstance(body, bytes):
        return await client.post(
            "/process-job-search", content=body, headers=headers, **kwargs
        )
    return await client.post(
        "/process-job-search", json=body, headers=headers, **kwargs
    )


async def jobs_of(settings: Settings, search_id: str) -> list[dict[str, Any]]:
    store = SQLiteStore(settings.sqlite_path)
    await store.open()
    try:
        summary = await store.summary(uuid.UUID(search_id))
    finally:
        await store.close()
    assert summary is not None
    return summary.jobs


async def test_deliver_message_stores_one_job_per_page(
    serve_app: Any, settings: Settings, site: PageSite
) -> None:
    """A bare JSON object runs the search and stores each posting."""
    body = message([site.url("a"), site.url("b")])

    async with serve_app(create_app(settings)) as client:
        response = await deliver(client, body)

    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.json()["jobs_found"] == 2
    jobs = await jobs_of(settings, body["search_id"])
    titles = sorted(job["title"] for job in jobs)
    assert titles == ["Backend Developer", "Data Engineer"]
    engineer = next(job for job in jobs if job["title"] == "Data Engineer")
    assert engineer["company"] == "Acme Analytics"
    assert engineer["salary_min"] == 70000
    assert engineer["salary_currency"] == "EUR"
    assert engineer["source_id"] == site.url("a")
    assert engineer["user_id"] == settings.local_user_id
    assert engineer["trace_id"] == "trace-1"
    assert engineer["status"] == "active"


async def test_deliver_one_element_array_and_old_token_are_accepted(
    serve_app: Any, settings: Settings, site: PageSite
) -> None:
    """The connector's array wrapping and a token being rolled out both work."""
    body = [message([site.url("a")])]

    async with serve_app(create_app(settings)) as client:
        response = await deliver(
            client, body, headers={"Authorization": f"Bearer {OLD_TOKEN}"}
        )

    assert response.status_code == 200
    assert response.json()["jobs_found"] == 1


async def test_deliver_same_message_three_times_fetches_each_page_once(
    serve_app: Any, settings: Settings, site: PageSite
) -> None:
    """Redeliveries of a completed search answer 200 without new work."""
    body = message([site.url("a"), site.url("b")])

    async with serve_app(create_app(settings)) as client:
        answers = [await deliver(client, body) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert site.hits == {"a": 1, "b": 1}
    assert len(await jobs_of(settings, body["search_id"])) == 2


async def test_deliver_same_message_twice_at_once_runs_the_work_once(
    serve_app: Any, settings: Settings, site: PageSite
) -> None:
    """Concurrent duplicates: one works, the other waits for it; neither drops it."""
    site.delays["a"] = 0.3
    body = message([site.url("a"), site.url("b")])

    async with serve_app(create_app(settings)) as client:
        first, second = await asyncio.gather(
            deliver(client, body), deliver(client, body)
        )

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["jobs_found"] == second.json()["jobs_found"] == 2
    assert site.hits == {"a": 1, "b": 1}


async def test_deliver_past_deadline_saves_progress_and_resumes(
    serve_app: Any, make_settings: Any, settings: Settings, site: PageSite
) -> None:
    """At the deadline: 503 + Retry-After; the next delivery refetches nothing done."""
    site.delays["c"] = 1.5
    body = message([site.url("a"), site.url("b"), site.url("c")])
    hurried = settings.model_copy(update={"sink_deadline_seconds": 0.6})

    async with serve_app(create_app(hurried)) as client:
        first = await deliver(client, body)
    partial = await jobs_of(settings, body["search_id"])
    site.delays.clear()
    async with serve_app(create_app(settings)) as client:
        second = await deliver(client, body)

    assert first.status_code == 503
    assert first.headers["retry-after"] == "3"
    assert first.json()["error"] == "deadline_reached"
    assert {job["title"] for job in partial} == {"Data Engineer", "Backend Developer"}
    assert second.status_code == 200
    assert second.json()["jobs_found"] == 3
    assert site.hits["a"] == 1
    assert site.hits["b"] == 1


async def test_deliver_failed_page_is_recorded_and_others_complete(
    serve_app: Any, settings: Settings, site: PageSite
) -> None:
    """A 404 page is an error on the search, not a failed delivery."""
    body = message([site.url("a"), site.url("missing")])

    async with serve_app(create_app(settings)) as client:
        response = await deliver(client, body)

    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    store = SQLiteStore(settings.sqlite_path)
    await store.open()
    summary = await store.summary(uuid.UUID(body["search_id"]))
    await store.close()
    assert summary is not None
    assert summary.errors == [{"url": site.url("missing"), "reason": "http_status"}]


async def test_deliver_transient_page_failure_is_retried_on_redelivery(
    serve_app: Any, settings: Settings, site: PageSite
) -> None:
    """A page answering 503 makes the delivery 503; the next one fetches only it."""
    site.failures["b"] = 1
    body = message([site.url("a"), site.url("b")])

    async with serve_app(create_app(settings)) as client:
        first = await deliver(client, body)
        second = await deliver(client, body)

    assert first.status_code == 503
    assert first.json()["error"] == "page_retry_pending"
    assert second.status_code == 200
    assert second.json()["jobs_found"] == 2
    assert site.hits == {"a": 1, "b": 2}


async def test_deliver_page_failing_every_time_is_given_up(
    serve_app: Any, settings: Settings, site: PageSite
) -> None:
    """After three transient failures the page is recorded as failed."""
    site.failures["b"] = 10
    body = message([site.url("a"), site.url("b")])

    async with serve_app(create_app(settings)) as client:
        answers = [await deliver(client, body) for _ in range(4)]

    assert [a.status_code for a in answers] == [503, 503, 200, 200]
    assert answers[2].json()["jobs_found"] == 1
    assert site.hits["b"] == 3


async def test_deliver_without_urls_or_provider_fails_visibly(
    serve_app: Any, settings: Settings
) -> None:
    """No provider locally: the search is marked failed with a reason, answered 200."""
    body = message([])

    async with serve_app(create_app(settings)) as client:
        response = await deliver(client, body)

    assert response.status_code == 200
    assert response.json()["status"] == "failed"
    assert "FIRECRAWL_API_KEY" in response.json()["reason"]
    store = SQLiteStore(settings.sqlite_path)
    await store.open()
    summary = await store.summary(uuid.UUID(body["search_id"]))
    await store.close()
    assert summary is not None
    assert summary.status == "failed"
    assert summary.failure_reason is not None
    assert "FIRECRAWL_API_KEY" in summary.failure_reason


async def test_deliver_legacy_edge_function_record_is_recognised(
    serve_app: Any, settings: Settings
) -> None:
    """The original function's record is accepted and its redelivery is recognised."""
    legacy = {
        "userId": "8a3c1f1e-6f0b-4b6e-9d0e-1f2a3b4c5d6e",
        "searchQuery": "designer",
        "location": "Remote",
        "limit": 50,
        "tbs": "qdr:m",
        "timestamp": "2025-06-01T12:00:00.000Z",
    }

    async with serve_app(create_app(settings)) as client:
        first = await deliver(client, legacy)
        again = await deliver(client, legacy)

    assert first.status_code == again.status_code == 200
    assert first.json()["search_id"] == again.json()["search_id"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"],
    ids=["missing", "wrong", "basic", "longer", "empty"],
)
async def test_deliver_bad_token_is_401(
    serve_app: Any, settings: Settings, authorization: str | None
) -> None:
    """Anything but a configured bearer token is refused before the body is read."""
    headers = {"Authorization": authorization} if authorization else {}

    async with serve_app(create_app(settings)) as client:
        response = await client.post(
            "/process-job-search", json=message([]), headers=headers
        )

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (
            b"{userId=8a3c, searchQuery=designer}",
            "application/json",
            400,
            "string_body_format",
        ),
        (b"[{userId=8a3c}]", "text/plain", 400, "string_body_format"),
        (b"{", "application/json", 400, "malformed_json"),
        (b"", "application/json", 400, "empty_body"),
        (b"\xff\xfe", "application/json", 400, "malformed_json"),
        (b'{"a": 1, "a": 2}', "application/json", 400, "duplicate_key"),
        (b"[]", "application/json", 400, "empty_batch"),
        (b"[" * 3000 + b"]" * 3000, "application/json", 400, "malformed_json"),
        (b"--x\r\n", "multipart/form-data; boundary=x", 415, "unsupported_media_type"),
        (b'{"version": 2}', "application/json", 422, "unsupported_version"),
        (
            b'{"version": 1, "search_id": "x"}',
            "application/json",
            422,
            "invalid_message",
        ),
        (b"x" * 300_000, "application/json", 413, "payload_too_large"),
    ],
    ids=[
        "string-format",
        "string-format-array",
        "truncated",
        "empty",
        "non-utf8",
        "duplicate-key",
        "empty-array",
        "deep",
        "multipart",
        "version-2",
        "bad-uuid",
        "oversized",
    ],
)
async def test_deliver_bad_body_is_precise_4xx(
    serve_app: Any,
    settings: Settings,
    content: bytes,
    content_type: str,
    status: int,
    error: str,
) -> None:
    """Records that can never succeed get a JSON 4xx naming the problem."""
    async with serve_app(create_app(settings)) as client:
        response = await deliver(
            client, content, headers={"Content-Type": content_type}
        )

    assert response.status_code == status
    assert response.json()["error"] == error
    if error == "string_body_format":
        assert "request.body.format=json" in response.json()["message"]


async def test_deliver_json_without_content_type_is_parsed(
    serve_app: Any, settings: Settings, site: PageSite
) -> None:
    """The body is JSON whatever the Content-Type says."""
    content = json.dumps(message([site.url("a")])).encode()

    async with serve_app(create_app(settings)) as client:
        response = await deliver(
            client, content, headers={"Content-Type": "text/plain"}
        )

    assert response.status_code == 200


def test_create_app_in_production_without_token_refuses(make_settings: Any) -> None:
    """Outside local mode the sink will not start unauthenticated."""
    from jobsearch.errors import ConfigurationError

    settings = make_settings(jobsearch_env="production")

    with pytest.raises(ConfigurationError, match="SINK_BEARER_TOKEN"):
        create_app(settings)


async def test_metrics_count_deliveries_stages_and_paid_calls(
    serve_app: Any, settings: Settings, site: PageSite
) -> None:
    """A delivery shows up as an outcome, stage timings and one paid fetch per page."""
    from prometheus_client.parser import text_string_to_metric_families

    async with serve_app(create_app(settings)) as client:
        await deliver(client, message([site.url("a"), site.url("b")]))
        text = (await client.get("/metrics")).text

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    outcome = ("jobsearch_sink_deliveries_total", (("outcome", "completed"),))
    assert samples[outcome] == 1
    assert samples[("jobsearch_paid_calls_total", (("provider", "keyless"),))] == 2
    for stage in ("fetch", "extract", "enrich"):
        key = ("jobsearch_pipeline_stage_duration_seconds_count", (("stage", stage),))
        assert samples[key] >= 2
