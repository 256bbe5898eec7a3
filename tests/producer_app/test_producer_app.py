"""producer_app in-process, with the REST v3 endpoint faked by pytest-httpx."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
import stamina
from pytest_httpx import HTTPXMock
from testdata import PRODUCE_URL, USER_ID, user_claims

from producer_app.main import create_app

JWT_SECRET = "jwt-secret-for-tests-with-enough-length-0123456789"
OK_REPORT = {
    "error_code": 200,
    "cluster_id": "lkc-test",
    "topic_name": "job-search-requests",
    "partition_id": 0,
    "offset": 7,
    "timestamp": "2026-12-04T10:00:00Z",
    "key": {"type": "STRING", "size": 36},
    "value": {"type": "JSON", "size": 200},
}


def user_token(**claims: Any) -> str:
    return jwt.encode(user_claims(**claims), JWT_SECRET, algorithm="HS256")


@pytest.fixture
def settings(make_settings: Any) -> Any:
    return make_settings()


async def post_search(
    serve_app: Any, settings: Any, body: Any = None, **kwargs: Any
) -> httpx.Response:
    app = create_app(settings)
    async with serve_app(app) as client:
        if body is not None:
            kwargs["json"] = body
        return await client.post("/jobs-search", **kwargs)


async def test_submit_valid_search_produces_one_record_and_answers_202(
    serve_app: Any, settings: Any, httpx_mock: HTTPXMock
) -> None:
    """A valid search makes exactly one produce request and answers 202."""
    httpx_mock.add_response(url=PRODUCE_URL, method="POST", json=OK_REPORT)

    response = await post_search(
        serve_app, settings, {"searchQuery": " python developer ", "location": "Berlin"}
    )

    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True
    assert body["status"] == "queued"
    assert body["jobsInserted"] == 0
    assert body["status_url"] == f"/jobs-search/{body['search_id']}"
    assert response.headers["location"] == body["status_url"]
    [request] = httpx_mock.get_requests()
    assert request.headers["content-type"] == "application/json"
    assert int(request.headers["content-length"]) == len(request.content)
    expected = base64.b64encode(b"test-key:test-secret").decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    produced = json.loads(request.content)
    assert set(produced) == {"key", "value", "headers"}
    assert produced["key"] == {"type": "STRING", "data": body["search_id"]}
    value = produced["value"]
    assert value["type"] == "JSON"
    message = value["data"]
    assert message["version"] == 1
    assert message["search_id"] == body["search_id"]
    assert message["user_id"] is None
    assert message["query"] == "python developer"
    assert message["location"] == "Berlin"
    assert message["limit"] == 50
    assert message["tbs"] == "qdr:m"
    assert message["urls"] == []
    assert message["requested_at"].endswith("Z")
    [header] = produced["headers"]
    assert header["name"] == "trace_id"
    assert base64.b64decode(header["value"]).decode() == message["trace_id"]


async def test_submit_request_id_header_becomes_trace_id(
    serve_app: Any, settings: Any, httpx_mock: HTTPXMock
) -> None:
    """A well-formed X-Request-ID is carried into the message and echoed back."""
    httpx_mock.add_response(url=PRODUCE_URL, json=OK_REPORT)

    response = await post_search(
        serve_app, settings, {"query": "rust"}, headers={"X-Request-ID": "req-42"}
    )

    assert response.headers["x-request-id"] == "req-42"
    message = json.loads(httpx_mock.get_requests()[0].content)["value"]["data"]
    assert message["trace_id"] == "req-42"


async def test_submit_original_frontend_request_with_jwt_is_queued(
    serve_app: Any, make_settings: Any, httpx_mock: HTTPXMock
) -> None:
    """The Edge Function frontend's body and user JWT work unchanged."""
    httpx_mock.add_response(url=PRODUCE_URL, json=OK_REPORT)
    settings = make_settings(supabase_jwt_secret=JWT_SECRET)

    response = await post_search(
        serve_app,
        settings,
        {"searchQuery": "designer", "location": "Remote", "limit": 20},
        headers={"Authorization": f"Bearer {user_token()}"},
    )

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    produced = json.loads(httpx_mock.get_requests()[0].content)
    assert produced["key"]["data"] == USER_ID
    assert produced["value"]["data"]["user_id"] == USER_ID
    assert produced["value"]["data"]["limit"] == 20


def _none_token() -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
    claims = {"sub": USER_ID, "aud": "authenticated", "exp": int(time.time()) + 60}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return f"{header.decode()}.{payload.decode()}."


@pytest.mark.parametrize(
    ("authorization", "message_part"),
    [
        (None, "required"),
        ("Basic dXNlcjpwYXNz", "bearer"),
        ("Bearer ", "bearer"),
        ("Bearer not-a-jwt", "malformed"),
        (f"Bearer {user_token(exp=int(time.time()) - 3600)}", "expired"),
        (f"Bearer {user_token(aud='anon')}", "audience"),
        (
            "Bearer "
            + jwt.encode(
                {"sub": USER_ID, "aud": "authenticated", "exp": 2**31}, "x" * 40
            ),
            "invalid",
        ),
        (f"Bearer {_none_token()}", "algorithm"),
        (f"Bearer {user_token(sub='not-a-uuid')}", "subject"),
        ("Bearer " + "a" * 9000, "too large"),
    ],
    ids=[
        "missing",
        "basic",
        "empty",
        "garbage",
        "expired",
        "audience",
        "signature",
        "none-alg",
        "bad-sub",
        "oversized",
    ],
)
async def test_submit_bad_token_is_401_without_producing(
    serve_app: Any,
    make_settings: Any,
    httpx_mock: HTTPXMock,
    authorization: str | None,
    message_part: str,
) -> None:
    """Every kind of bad user token gets a JSON 401 and nothing is produced."""
    settings = make_settings(supabase_jwt_secret=JWT_SECRET)
    headers = {"Authorization": authorization} if authorization else {}

    response = await post_search(serve_app, settings, {"query": "x"}, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"] == "unauthorized"
    assert message_part in body["message"]
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b"", "application/json", 400, "empty_body"),
        (b"{", "application/json", 400, "malformed_json"),
        (b"\xff\xfe{}", "application/json", 400, "malformed_json"),
        (b"null", "application/json", 422, "invalid_request"),
        (b"[]", "application/json", 422, "invalid_request"),
        (b'"text"', "application/json", 422, "invalid_request"),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400, "malformed_json"),
        (b'{"query": "a", "query": "b"}', "application/json", 400, "duplicate_key"),
        (
            b"query=x",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
        (b'{"query": "x"}', "text/plain", 415, "unsupported_media_type"),
        (b'{"query": "x"}', "", 415, "unsupported_media_type"),
        (
            b'{"query": "' + b"x" * 20000 + b'"}',
            "application/json",
            413,
            "payload_too_large",
        ),
    ],
    ids=[
        "empty",
        "truncated",
        "non-utf8",
        "null",
        "array",
        "string",
        "deep-nesting",
        "duplicate-key",
        "form",
        "text-plain",
        "no-type",
        "oversized",
    ],
)
async def test_submit_hostile_body_is_refused_with_json_error(
    serve_app: Any,
    settings: Any,
    httpx_mock: HTTPXMock,
    content: bytes,
    content_type: str,
    status: int,
    error: str,
) -> None:
    """Bodies that can never be a search get a precise 4xx and produce nothing."""
    headers = {"Content-Type": content_type} if content_type else {}

    response = await post_search(serve_app, settings, content=content, headers=headers)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error
    assert httpx_mock.get_requests() == []


async def test_submit_oversized_chunked_body_is_413(
    serve_app: Any, settings: Any, httpx_mock: HTTPXMock
) -> None:
    """A body without Content-Length is cut off at the limit too."""

    async def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    response = await post_search(
        serve_app,
        settings,
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"searchQuery": "   "}, "searchQuery"),
        ({"searchQuery": "x" * 201}, "searchQuery"),
        ({"query": 5}, "query"),
        ({"query": "x", "searchQuery": "y"}, "body"),
        ({"query": "x", "location": "y" * 101}, "location"),
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "limit": 101}, "limit"),
        ({"query": "x", "limit": "10"}, "limit"),
        ({"query": "x", "limit": True}, "limit"),
        ({"query": "x", "remote": "yes"}, "remote"),
        ({"query": "x", "urls": ["ftp://example.test/a"]}, "urls.0"),
        ({"query": "x", "urls": ["javascript:alert(1)"]}, "urls.0"),
        ({"query": "x", "urls": ["/relative"]}, "urls.0"),
        ({"query": "x", "urls": ["https://user:pw@example.test/"]}, "urls.0"),
        ({"query": "x\u0000y"}, "query"),
        ({"query": "x", "location": "a\nb"}, "location"),
        ({"query": "x", "urls": ["https://example.test/"] * 21}, "urls"),
        ({"query": "x", "userId": USER_ID}, "userId"),
    ],
    ids=[
        "no-query",
        "blank",
        "long",
        "wrong-type",
        "conflict",
        "long-location",
        "limit-0",
        "limit-101",
        "limit-string",
        "limit-bool",
        "remote-string",
        "ftp",
        "javascript",
        "relative",
        "userinfo",
        "nul",
        "newline",
        "too-many-urls",
        "unknown-field",
    ],
)
async def test_submit_invalid_field_is_422_naming_it(
    serve_app: Any, settings: Any, httpx_mock: HTTPXMock, body: Any, field: str
) -> None:
    """Each invalid field gets its own entry in the 422 body."""
    response = await post_search(serve_app, settings, body)

    assert response.status_code == 422
    payload = response.json()
    assert payload["error"] == "invalid_request"
    assert field in [entry["field"] for entry in payload["fields"]]
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    ("status", "body", "expected_status", "error"),
    [
        (200, {"error_code": 429, "message": "throttled"}, 503, "rate_limited"),
        (200, {"error_code": 503, "message": "busy"}, 503, "queue_unavailable"),
        (200, {"error_code": 50003, "message": "retriable"}, 503, "queue_unavailable"),
        (200, {"error_code": 400, "message": "bad"}, 502, "queue_rejected"),
        (404, {"error_code": 40403, "message": "no topic"}, 502, "queue_rejected"),
        (401, {"error_code": 40101, "message": "auth"}, 502, "queue_rejected"),
        (500, {"error_code": 500, "message": "boom"}, 503, "queue_unavailable"),
        (502, None, 503, "queue_unavailable"),
    ],
    ids=[
        "200-429",
        "200-503",
        "200-50003",
        "200-400",
        "40403",
        "40101",
        "500",
        "502-empty",
    ],
)
async def test_submit_confluent_failure_maps_to_status(
    serve_app: Any,
    settings: Any,
    httpx_mock: HTTPXMock,
    status: int,
    body: Any,
    expected_status: int,
    error: str,
) -> None:
    """Per-record and HTTP-level failures become 503 (retry later) or 502."""
    retryable = expected_status == 503
    httpx_mock.add_response(
        url=PRODUCE_URL, status_code=status, json=body, is_reusable=retryable
    )

    response = await post_search(serve_app, settings, {"query": "x"})

    assert response.status_code == expected_status
    payload = response.json()
    assert payload["error"] == error
    assert "throttled" not in payload["message"]
    assert "boom" not in payload["message"]
    attempts = len(httpx_mock.get_requests())
    if retryable:
        assert response.headers["retry-after"] == str(payload["retryAfterSeconds"])
        assert attempts == 3
    else:
        assert attempts == 1


async def test_submit_html_429_is_rate_limited(
    serve_app: Any, settings: Any, httpx_mock: HTTPXMock
) -> None:
    """Confluent's HTML 429 without Retry-After is read as throttling."""
    httpx_mock.add_response(
        url=PRODUCE_URL,
        status_code=429,
        html="<html><body>Too Many Requests</body></html>",
        is_reusable=True,
    )

    response = await post_search(serve_app, settings, {"query": "x"})

    assert response.status_code == 503
    assert response.json()["error"] == "rate_limited"
    assert 10 <= response.json()["retryAfterSeconds"] <= 120


async def test_submit_transient_then_success_is_202(
    serve_app: Any, settings: Any, httpx_mock: HTTPXMock
) -> None:
    """A retry after a transient fault succeeds, with one record per attempt."""
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=PRODUCE_URL)
    httpx_mock.add_response(url=PRODUCE_URL, json=OK_REPORT)

    response = await post_search(serve_app, settings, {"query": "x"})

    assert response.status_code == 202
    assert len(httpx_mock.get_requests()) == 2


@pytest.mark.parametrize(
    "exception",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.ReadError("x")],
    ids=["refused", "connect-timeout", "read-error"],
)
async def test_submit_unreachable_queue_is_503(
    serve_app: Any, settings: Any, httpx_mock: HTTPXMock, exception: Exception
) -> None:
    """Network faults are retried, then answered 503 queue_unavailable."""
    httpx_mock.add_exception(exception, url=PRODUCE_URL, is_reusable=True)

    response = await post_search(serve_app, settings, {"query": "x"})

    assert response.status_code == 503
    assert response.json()["error"] == "queue_unavailable"
    assert response.headers["retry-after"]


async def test_submit_retries_stop_within_budget(
    serve_app: Any, make_settings: Any, httpx_mock: HTTPXMock
) -> None:
    """Without the test shortcut, backoff runs until the budget ends, then stops."""
    httpx_mock.add_response(url=PRODUCE_URL, status_code=503, is_reusable=True)
    settings = make_settings(produce_retry_budget=0.5)

    with stamina.set_testing(False):
        response = await post_search(serve_app, settings, {"query": "x"})

    assert response.status_code == 503
    attempts = len(httpx_mock.get_requests())
    # 0.1 s initial wait doubling: a 0.5 s budget allows a handful, never dozens.
    assert 2 <= attempts <= 6


async def test_submit_never_leaks_secrets(
    serve_app: Any,
    make_settings: Any,
    httpx_mock: HTTPXMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A canary secret appears in no log line and no response body."""
    canary = "CANARY-c4n4ry-s3cr3t"
    settings = make_settings(
        confluent_api_secret=canary, supabase_jwt_secret=canary * 3
    )
    httpx_mock.add_response(
        url=PRODUCE_URL, status_code=401, json={"error_code": 40101, "message": canary}
    )
    caplog.set_level(logging.DEBUG)
    token = jwt.encode(
        {"sub": USER_ID, "aud": "authenticated", "role": "authenticated", "exp": 2**31},
        canary * 3,
    )

    app = create_app(settings)
    async with serve_app(app) as client:
        responses = [
            await client.post(
                "/jobs-search",
                json={"query": canary},
                headers={"Authorization": f"Bearer {token}"},
            ),
            await client.post(
                "/jobs-search",
                json={"query": "x", "secret": canary},
                headers={"Authorization": f"Bearer {token}"},
            ),
            await client.post("/jobs-search", json={"query": "x"}),
        ]

    assert [r.status_code for r in responses] == [502, 422, 401]
    for response in responses:
        assert canary not in response.text
    assert canary not in caplog.text
    assert "Bearer" not in caplog.text


async def test_status_unknown_search_is_404(serve_app: Any, settings: Any) -> None:
    """An id the store has never seen is a JSON 404."""
    app = create_app(settings)
    async with serve_app(app) as client:
        response = await client.get(f"/jobs-search/{uuid.uuid4()}")
        malformed = await client.get("/jobs-search/not-a-uuid")

    assert response.status_code == 404
    assert response.json()["error"] == "search_not_found"
    assert malformed.status_code == 400


async def test_status_after_submit_is_queued(
    serve_app: Any, settings: Any, httpx_mock: HTTPXMock
) -> None:
    """The status route knows an accepted search before the sink sees it."""
    httpx_mock.add_response(url=PRODUCE_URL, json=OK_REPORT)
    app = create_app(settings)
    async with serve_app(app) as client:
        accepted = await client.post("/jobs-search", json={"query": "go"})
        status = await client.get(accepted.json()["status_url"])

    assert status.status_code == 200
    assert status.json()["status"] == "queued"
    assert status.json()["jobs"] == []
    assert status.json()["stalled"] is False


async def test_status_search_without_progress_is_stalled(
    serve_app: Any, make_settings: Any, httpx_mock: HTTPXMock
) -> None:
    """A queued search that has not moved past the limit is flagged as stalled."""
    httpx_mock.add_response(url=PRODUCE_URL, json=OK_REPORT)
    app = create_app(make_settings(stalled_after_seconds=0.01))
    async with serve_app(app) as client:
        accepted = await client.post("/jobs-search", json={"query": "go"})
        await asyncio.sleep(0.05)
        status = await client.get(accepted.json()["status_url"])

    assert status.json()["stalled"] is True


async def test_cors_preflight_allows_configured_origin(
    serve_app: Any, make_settings: Any
) -> None:
    """A browser preflight from a listed origin is allowed; others are not."""
    settings = make_settings(cors_allow_origins="https://app.example.test")
    app = create_app(settings)
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    async with serve_app(app) as client:
        allowed = await client.options(
            "/jobs-search", headers={"Origin": "https://app.example.test", **preflight}
        )
        refused = await client.options(
            "/jobs-search", headers={"Origin": "https://evil.example.test", **preflight}
        )

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.test"
    assert refused.status_code == 400
    assert refused.json()["error"] == "cors_refused"
    assert "origin" in refused.json()["message"]


async def test_routes_unknown_path_and_method_are_json(
    serve_app: Any, settings: Any
) -> None:
    """Starlette's own 404 and 405 answer in JSON."""
    app = create_app(settings)
    async with serve_app(app) as client:
        missing = await client.get("/nope")
        wrong = await client.get("/jobs-search")
        health = await client.get("/healthz")

    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"
    assert health.json() == {"status": "ok"}


async def test_edge_function_path_is_the_same_handler(
    serve_app: Any, settings: Any, httpx_mock: HTTPXMock
) -> None:
    """`/functions/v1/jobs-search` answers like `/jobs-search`."""
    httpx_mock.add_response(url=PRODUCE_URL, json=OK_REPORT)
    app = create_app(settings)
    async with serve_app(app) as client:
        response = await client.post("/functions/v1/jobs-search", json={"query": "x"})

    assert response.status_code == 202
