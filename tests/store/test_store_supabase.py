"""`SupabaseStore` at the HTTP layer: the exact PostgREST requests and error answers."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from pytest_httpx import HTTPXMock

from jobsearch.errors import StoreError
from jobsearch.message import SearchMessage
from jobsearch.posting import Posting
from jobsearch.store import PageProgress
from jobsearch.store.supabase import SupabaseStore

URL = "https://proj.supabase.test"
REST = f"{URL}/rest/v1"
KEY = "service-role-secret-value"
USER = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
SEARCH = uuid.UUID("3f2b9c1e-0000-4000-8000-000000000001")
POSTED = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
async def store() -> AsyncIterator[SupabaseStore]:
    """An open store on its own httpx client."""
    instance = SupabaseStore(URL, SecretStr(KEY), timeout_seconds=7.5)
    await instance.open()
    yield instance
    await instance.close()


def _message() -> SearchMessage:
    return SearchMessage(
        search_id=SEARCH,
        query="python developer",
        location="Berlin",
        limit=5,
        requested_at=datetime(2026, 1, 15, 10, 0, tzinfo=UTC),
        trace_id="trace-1",
    )


def _posting() -> Posting:
    return Posting(
        source_id="https://jobs.example.test/p/1",
        title="Python Developer",
        company="Example GmbH",
        remote_type="Hybrid",
        salary_min=60000,
        salary_max=80000,
        salary_currency="EUR",
        salary_period="year",
        tags=["python", "sql"],
        posted_at=POSTED,
        raw_data={"extractor": "json-ld", "seen": POSTED},
    )


async def _upsert_job(store: SupabaseStore) -> None:
    await store.upsert_job(_posting(), user_id=USER, search_id=SEARCH, trace_id="t-1")


def _sent(httpx_mock: HTTPXMock) -> tuple[httpx.Request, Any]:
    request = httpx_mock.get_request()
    assert request is not None
    return request, json.loads(request.content)


async def test_supabase_upsert_job_sends_minimal_merge_upsert(
    store: SupabaseStore, httpx_mock: HTTPXMock
) -> None:
    """A job is one POST on the (user_id, source_id) key, merged, minimal return."""
    httpx_mock.add_response(method="POST", status_code=201, text="")

    await _upsert_job(store)

    request, body = _sent(httpx_mock)
    assert str(request.url) == f"{REST}/jobs?on_conflict=user_id%2Csource_id"
    assert request.headers["prefer"] == "return=minimal,resolution=merge-duplicates"
    assert request.headers["apikey"] == KEY
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert body.pop("updated_at")
    assert body == {
        "source_id": "https://jobs.example.test/p/1",
        "title": "Python Developer",
        "company": "Example GmbH",
        "company_logo": None,
        "description": None,
        "location": None,
        "remote_type": "Hybrid",
        "employment_type": None,
        "experience_level": None,
        "salary_min": 60000,
        "salary_max": 80000,
        "salary_currency": "EUR",
        "salary_period": "year",
        "tags": ["python", "sql"],
        "apply_url": None,
        "posted_at": "2026-01-10T09:30:00Z",
        "expires_at": None,
        "user_id": str(USER),
        "source_type": "web_search",
        "raw_data": {"extractor": "json-ld", "seen": "2026-01-10 09:30:00+00:00"},
        "search_id": str(SEARCH),
        "trace_id": "t-1",
    }


@pytest.mark.parametrize(
    ("call", "path", "prefer"),
    [
        ("record_queued", "job_searches?on_conflict=search_id", "ignore"),
        ("save_page", "search_pages?on_conflict=search_id%2Curl", "merge"),
    ],
)
async def test_supabase_row_writes_use_their_conflict_key(
    store: SupabaseStore, httpx_mock: HTTPXMock, call: str, path: str, prefer: str
) -> None:
    """Searches are inserted once (ignore); pages replace their earlier record."""
    httpx_mock.add_response(method="POST", status_code=201, text="")
    page = PageProgress("https://jobs.example.test/p/1", "failed", reason="http_404")

    if call == "record_queued":
        await store.record_queued(_message(), USER)
    else:
        await store.save_page(SEARCH, page)

    request, body = _sent(httpx_mock)
    assert str(request.url) == f"{REST}/{path}"
    assert request.headers["prefer"] == f"return=minimal,resolution={prefer}-duplicates"
    assert body["search_id"] == str(SEARCH)


async def test_supabase_record_queued_body_names_the_search(
    store: SupabaseStore, httpx_mock: HTTPXMock
) -> None:
    """The queued row carries user, query, filters, status and trace id."""
    httpx_mock.add_response(method="POST", status_code=201, text="")

    await store.record_queued(_message(), USER)

    _, body = _sent(httpx_mock)
    assert body == {
        "search_id": str(SEARCH),
        "user_id": str(USER),
        "query": "python developer",
        "filters": {
            "location": "Berlin",
            "remote": None,
            "limit": 5,
            "urls": [],
            "tbs": "qdr:m",
        },
        "status": "queued",
        "trace_id": "trace-1",
    }


async def test_supabase_claim_calls_function_and_reads_busy(
    store: SupabaseStore, httpx_mock: HTTPXMock
) -> None:
    """The claim is one RPC call; a busy answer carries the lease expiry."""
    answer = {
        "outcome": "busy",
        "status": "processing",
        "lease_expires_at": "2026-01-15T10:00:30.5+00:00",
    }
    httpx_mock.add_response(
        method="POST", url=f"{REST}/rpc/claim_job_search", json=answer
    )

    claim = await store.claim(_message(), USER, "sink-1", 30.0)

    _, body = _sent(httpx_mock)
    assert body == {
        "p_search_id": str(SEARCH),
        "p_user_id": str(USER),
        "p_query": "python developer",
        "p_filters": {
            "location": "Berlin",
            "remote": None,
            "limit": 5,
            "urls": [],
            "tbs": "qdr:m",
        },
        "p_trace_id": "trace-1",
        "p_owner": "sink-1",
        "p_lease_seconds": 30.0,
    }
    assert (claim.outcome, claim.status) == ("busy", "processing")
    assert claim.lease_expires_at == datetime(2026, 1, 15, 10, 0, 30, 500000, UTC)


@pytest.mark.parametrize(
    "answer",
    [None, [], {"outcome": "maybe", "status": "processing", "lease_expires_at": None}],
)
async def test_supabase_claim_unexpected_answer_store_error(
    store: SupabaseStore, httpx_mock: HTTPXMock, answer: object
) -> None:
    """A claim answer of the wrong shape is a store error, never a guess."""
    httpx_mock.add_response(url=f"{REST}/rpc/claim_job_search", json=answer)

    with pytest.raises(StoreError, match="unexpected shape"):
        await store.claim(_message(), USER, "sink-1", 30.0)


@pytest.mark.parametrize(
    ("call", "function", "params"),
    [
        ("release", "release_job_search", {"p_owner": "sink-1"}),
        (
            "finish",
            "finish_job_search",
            {
                "p_owner": "sink-1",
                "p_status": "failed",
                "p_errors": [{"url": "https://x.test", "reason": "timeout"}],
                "p_failure_reason": "no page yielded a job",
            },
        ),
    ],
)
async def test_supabase_lease_end_calls_function(
    store: SupabaseStore,
    httpx_mock: HTTPXMock,
    call: str,
    function: str,
    params: dict[str, Any],
) -> None:
    """Release and finish are RPC calls on the search, naming the lease owner."""
    httpx_mock.add_response(url=f"{REST}/rpc/{function}", json=True)

    if call == "release":
        await store.release(SEARCH, "sink-1")
    else:
        await store.finish(
            SEARCH,
            "sink-1",
            status="failed",
            errors=[{"url": "https://x.test", "reason": "timeout"}],
            failure_reason="no page yielded a job",
        )

    _, body = _sent(httpx_mock)
    assert body == {"p_search_id": str(SEARCH), **params}


async def test_supabase_pages_reads_in_saved_order(
    store: SupabaseStore, httpx_mock: HTTPXMock
) -> None:
    """Pages are one GET filtered on the search, ordered by first save."""
    rows = [
        {
            "url": "https://jobs.example.test/p/1",
            "state": "extracted",
            "reason": None,
            "postings": [_posting().model_dump(mode="json")],
            "content": None,
        }
    ]
    httpx_mock.add_response(method="GET", json=rows)

    pages = await store.pages(SEARCH)

    request, _ = httpx_mock.get_request(), None
    assert request is not None
    assert dict(request.url.params) == {
        "select": "url,state,reason,postings,content,attempts",
        "search_id": f"eq.{SEARCH}",
        "order": "seq.asc",
    }
    page = pages["https://jobs.example.test/p/1"]
    assert (page.state, page.postings[0].raw_data["seen"]) == (
        "extracted",
        "2026-01-10T09:30:00Z",
    )


async def test_supabase_summary_unknown_search_none(
    store: SupabaseStore, httpx_mock: HTTPXMock
) -> None:
    """A null summary answer means the search is unknown; no jobs are read."""
    httpx_mock.add_response(url=f"{REST}/rpc/job_search_summary", json=None)

    assert await store.summary(SEARCH) is None


async def test_supabase_duplicate_key_on_write_is_stored(
    store: SupabaseStore, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    """A 409 with 23505 means a racing write already stored the row."""
    body = {
        "code": "23505",
        "details": "Key (user_id, source_id) already exists.",
        "hint": None,
        "message": "duplicate key value violates unique constraint",
    }
    httpx_mock.add_response(method="POST", status_code=409, json=body)

    await _upsert_job(store)

    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("status", "code", "fix"),
    [
        (403, "42501", "SUPABASE_SERVICE_ROLE_KEY"),
        (401, "42501", "SUPABASE_SERVICE_ROLE_KEY"),
        (400, "PGRST204", "supabase/migrations"),
        (400, "42P10", "supabase/migrations"),
        (404, "PGRST205", "supabase/migrations"),
        (409, "23503", "LOCAL_USER_ID"),
        (401, "PGRST301", "SUPABASE_SERVICE_ROLE_KEY"),
    ],
)
async def test_supabase_configuration_fault_logged_and_retryable(
    store: SupabaseStore,
    httpx_mock: HTTPXMock,
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: str,
    fix: str,
) -> None:
    """RLS, schema and key faults raise StoreError with one ERROR line naming a fix."""
    body = {"code": code, "details": None, "hint": None, "message": "refused"}
    httpx_mock.add_response(method="POST", status_code=status, json=body)

    with pytest.raises(StoreError, match=code) as raised:
        await _upsert_job(store)

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    fields = errors[0].__dict__["fields"]
    assert (fields["target"], fields["code"]) == ("jobs", code)
    assert fix in fields["fix"]
    assert KEY not in caplog.text
    assert KEY not in str(raised.value)


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (
            httpx.Response(503, text="<html>upstream busy</html>"),
            r"failed jobs \(503\)",
        ),
        (httpx.Response(500, json={"code": "XX000", "message": "x"}), "XX000"),
    ],
)
async def test_supabase_transient_answer_store_error_without_config_log(
    store: SupabaseStore,
    httpx_mock: HTTPXMock,
    caplog: pytest.LogCaptureFixture,
    response: httpx.Response,
    match: str,
) -> None:
    """Other error answers, JSON or not, are plain retryable store errors."""
    httpx_mock.add_callback(lambda request: response, method="POST")

    with pytest.raises(StoreError, match=match):
        await _upsert_job(store)

    assert not [r for r in caplog.records if r.levelno == logging.ERROR]


async def test_supabase_duplicate_key_on_read_store_error(
    store: SupabaseStore, httpx_mock: HTTPXMock
) -> None:
    """Only writes treat 23505 as stored; a function that hits it has failed."""
    body = {"code": "23505", "details": None, "hint": None, "message": "dup"}
    httpx_mock.add_response(status_code=409, json=body)

    with pytest.raises(StoreError, match="23505"):
        await store.release(SEARCH, "sink-1")


@pytest.mark.parametrize(
    ("exception", "match"),
    [
        (httpx.ReadTimeout("slow"), "timed out"),
        (httpx.ConnectError("refused"), "unreachable"),
    ],
)
async def test_supabase_transport_failure_store_error(
    store: SupabaseStore,
    httpx_mock: HTTPXMock,
    exception: httpx.HTTPError,
    match: str,
) -> None:
    """No answer at all (timeout, refused connection) is a retryable store error."""
    httpx_mock.add_exception(exception)

    with pytest.raises(StoreError, match=match):
        await _upsert_job(store)


async def test_supabase_get_not_retried_by_client(
    store: SupabaseStore, httpx_mock: HTTPXMock
) -> None:
    """A 503 on a read is answered at once, not retried with sleeps inside the SDK."""
    httpx_mock.add_response(method="GET", status_code=503, text="busy")

    with pytest.raises(StoreError):
        await store.ping()

    assert len(httpx_mock.get_requests()) == 1


async def test_supabase_requests_carry_explicit_timeouts(
    store: SupabaseStore, httpx_mock: HTTPXMock
) -> None:
    """Every request has the configured read timeout and a short connect timeout."""
    httpx_mock.add_response(
        method="GET", url=re.compile(rf"{REST}/job_searches"), json=[]
    )

    await store.ping()

    request = httpx_mock.get_request()
    assert request is not None
    assert request.extensions["timeout"] == {
        "connect": 5.0,
        "read": 7.5,
        "write": 7.5,
        "pool": 7.5,
    }


async def test_supabase_shared_client_left_open(httpx_mock: HTTPXMock) -> None:
    """A store built on the app's httpx client does not close it."""
    httpx_mock.add_response(method="GET", json=[])
    async with httpx.AsyncClient() as shared:
        store = SupabaseStore(URL, SecretStr(KEY), http_client=shared)
        await store.open()
        await store.ping()
        await store.close()

        assert not shared.is_closed


@pytest.mark.parametrize("url", ["not a url", "ftp://proj.supabase.test"])
async def test_supabase_open_malformed_url_store_error(url: str) -> None:
    """A malformed SUPABASE_URL fails at open, naming the setting, not the key."""
    store = SupabaseStore(url, SecretStr(KEY))

    with pytest.raises(StoreError, match="SUPABASE_URL") as raised:
        await store.open()

    assert KEY not in str(raised.value)
    await store.close()


async def test_supabase_use_before_open_store_error() -> None:
    """Calling the store before `open()` is a store error."""
    with pytest.raises(StoreError, match="not open"):
        await SupabaseStore(URL, SecretStr(KEY)).ping()


async def test_supabase_user_sources_reads_the_users_list(
    store: SupabaseStore, httpx_mock: HTTPXMock
) -> None:
    """The original app's per-user job boards replace the default list."""
    httpx_mock.add_response(
        method="GET", json=[{"enabled_default_sources": ["lever.co", "greenhouse.io"]}]
    )

    sources = await store.user_sources(SEARCH)

    assert sources == ["lever.co", "greenhouse.io"]
    request = httpx_mock.get_request()
    assert request is not None
    assert request.url.path.endswith("/job_source_settings")
    assert request.url.params["user_id"] == f"eq.{SEARCH}"


@pytest.mark.parametrize(
    "reply",
    [
        {"status_code": 200, "json": []},
        {"status_code": 200, "json": [{"enabled_default_sources": None}]},
        {
            "status_code": 404,
            "json": {"code": "PGRST205", "message": "missing", "details": None},
        },
    ],
    ids=["no-row", "null-list", "no-table"],
)
async def test_supabase_user_sources_absent_is_none(
    store: SupabaseStore, httpx_mock: HTTPXMock, reply: dict[str, Any]
) -> None:
    """No row, no list or no table: the default boards apply."""
    httpx_mock.add_response(method="GET", **reply)

    assert await store.user_sources(SEARCH) is None
