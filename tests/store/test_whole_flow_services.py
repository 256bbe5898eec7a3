"""The whole flow with Firecrawl, OpenAI and Supabase faked at the HTTP layer.

Producer, emulator and sink talk over loopback for real; every call to a paid service
is answered by pytest-httpx (Firecrawl, Supabase) or httpx2-pytest (OpenAI), and
Supabase's PostgREST is the stand-in backed by a real migrated PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from postgrest_standin import PostgrestStandin
from pytest_httpx import HTTPXMock

from jobsearch.settings import Settings
from jobsearch.stack import StackPorts, local_stack

FIRECRAWL = "https://firecrawl.example.test"
OPENAI = "https://openai.example.test/v1"
SUPABASE = "https://standin.supabase.test"
LOCAL_USER = "00000000-0000-4000-8000-000000000001"
POSTING_URL = "https://boards.greenhouse.io/acme/jobs/4242"
POSTING = {
    "@context": "https://schema.org",
    "@type": "JobPosting",
    "title": "Backend Engineer",
    "description": "<p>Build APIs in Python and PostgreSQL for our data team.</p>",
    "datePosted": "2026-11-28",
    "hiringOrganization": {"@type": "Organization", "name": "Acme Data"},
    "jobLocation": {
        "@type": "Place",
        "address": {"@type": "PostalAddress", "addressLocality": "Berlin"},
    },
    "baseSalary": {
        "@type": "MonetaryAmount",
        "currency": "EUR",
        "value": {
            "@type": "QuantitativeValue",
            "minValue": 70000,
            "maxValue": 85000,
            "unitText": "YEAR",
        },
    },
}
RAW_HTML = (
    "<html><head><title>Backend Engineer</title>"
    f'<script type="application/ld+json">{json.dumps(POSTING)}</script>'
    "</head><body><h1>Backend Engineer</h1></body></html>"
)


def _not_loopback(request: httpx.Request) -> bool:
    return request.url.host != "127.0.0.1"


def _search_reply() -> dict[str, Any]:
    document = {
        "url": POSTING_URL,
        "rawHtml": RAW_HTML,
        "markdown": "# Backend Engineer",
        "metadata": {"sourceURL": POSTING_URL, "statusCode": 200},
    }
    return {"success": True, "data": {"web": [document]}}


def _chat_reply(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1768471200,
        "model": "gpt-4.1-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": json.dumps(answer)},
            }
        ],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
    }


@pytest.fixture
def settings(make_settings: Any, tmp_path: Path) -> Settings:
    return make_settings(
        confluent_rest_url=None,
        confluent_cluster_id=None,
        confluent_api_key=None,
        confluent_api_secret=None,
        sink_bearer_token="flow-token",
        supabase_url=SUPABASE,
        supabase_service_role_key="service-role-test-key",
        firecrawl_api_key="fc-test-key",
        firecrawl_api_url=FIRECRAWL,
        openai_api_key="sk-test-key",
        openai_base_url=OPENAI,
    )


@pytest.fixture
def standin(
    migrated_database: str, httpx_mock: HTTPXMock
) -> Iterator[PostgrestStandin]:
    with psycopg.connect(migrated_database) as conn:
        conn.execute("insert into auth.users (id) values (%s)", (LOCAL_USER,))
    postgrest = PostgrestStandin(migrated_database)
    httpx_mock.add_callback(
        postgrest, url=re.compile(re.escape(SUPABASE) + "/rest/v1/"), is_reusable=True
    )
    yield postgrest
    postgrest.close()


@pytest.mark.slow
@pytest.mark.httpx_mock(should_mock=_not_loopback)
async def test_whole_flow_sends_exact_requests_to_each_service(
    settings: Settings,
    standin: PostgrestStandin,
    httpx_mock: HTTPXMock,
    httpx2_mock: HTTPXMock,
    final_status: Callable[..., Awaitable[httpx.Response]],
) -> None:
    """Producer → emulator → sink → Supabase, with the paid calls asserted exactly."""
    httpx_mock.add_response(
        method="POST", url=f"{FIRECRAWL}/v2/search", json=_search_reply()
    )
    httpx2_mock.add_response(
        method="POST",
        url=f"{OPENAI}/chat/completions",
        json=_chat_reply(
            {
                "skills": ["Python", "PostgreSQL"],
                "seniority": "Mid-level",
                "remote": None,
            }
        ),
    )

    async with (
        local_stack(settings, StackPorts(0, 0, 0)) as stack,
        httpx.AsyncClient(base_url=stack.producer_url) as client,
    ):
        accepted = await client.post(
            "/jobs-search",
            json={"searchQuery": "python developer", "location": "Berlin"},
        )
        status = (await final_status(client, accepted.json()["status_url"])).json()

    assert accepted.status_code == 202
    assert status["status"] == "completed"
    [job] = status["jobs"]
    assert (job["title"], job["company"]) == ("Backend Engineer", "Acme Data")
    assert (job["salary_min"], job["salary_max"]) == (70000, 85000)
    assert "Python" in job["tags"]

    [search] = httpx_mock.get_requests(url=f"{FIRECRAWL}/v2/search")
    body = json.loads(search.content)
    assert search.headers["authorization"] == "Bearer fc-test-key"
    assert body["limit"] == 50
    assert body["tbs"] == "qdr:m"
    assert "python developer" in body["query"]
    assert '"Berlin"' in body["query"]
    assert "site:greenhouse.io" in body["query"]
    assert set(body["scrapeOptions"]["formats"]) >= {"rawHtml", "markdown"}

    [chat] = httpx2_mock.get_requests()
    sent = json.loads(chat.content)
    assert chat.headers["authorization"] == "Bearer sk-test-key"
    schema = sent["response_format"]["json_schema"]
    assert sent["response_format"]["type"] == "json_schema"
    assert schema["strict"] is True
    assert schema["schema"]["additionalProperties"] is False

    upserts = [
        request
        for request in standin.requests
        if request.method == "POST" and request.url.path == "/rest/v1/jobs"
    ]
    assert len(upserts) == 1
    upsert = upserts[0]
    assert upsert.url.params["on_conflict"] == "user_id,source_id"
    assert "resolution=merge-duplicates" in upsert.headers["prefer"]
    assert "return=minimal" in upsert.headers["prefer"]
    row = json.loads(upsert.content)
    assert row["user_id"] == LOCAL_USER
    assert row["source_id"] == POSTING_URL
    assert row["search_id"] == accepted.json()["search_id"]
    assert row["tags"][:2] == ["Python", "PostgreSQL"]
    assert row["raw_data"]["enrichment"]["calls"] == 1
    assert upsert.headers["apikey"] == "service-role-test-key"
