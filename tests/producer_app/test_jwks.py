"""Asymmetric Supabase signing keys: JWKS outages, key rotation, roles, slow bodies."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pytest_httpx import HTTPXMock
from testdata import PRODUCE_URL, USER_ID, user_claims

from producer_app.main import create_app

JWKS_URL = "https://project.supabase.test/auth/v1/.well-known/jwks.json"
KEY = ec.generate_private_key(ec.SECP256R1())


def jwks() -> dict[str, Any]:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    return {"keys": [{**public, "kid": "k1", "alg": "ES256", "use": "sig"}]}


def token(**claims: Any) -> str:
    return jwt.encode(
        user_claims(**claims), KEY, algorithm="ES256", headers={"kid": "k1"}
    )


@pytest.fixture
def app(make_settings: Any) -> Any:
    return create_app(make_settings(supabase_jwks_url=JWKS_URL))


async def test_jwks_outage_is_503_then_recovers(
    serve_app: Any, app: Any, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the keys cannot be fetched users get 503, and a retry soon recovers."""
    monkeypatch.setattr("producer_app.auth.JWKS_RETRY_INTERVAL", 0.0)
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=JWKS_URL)
    httpx_mock.add_response(url=JWKS_URL, json=jwks())
    httpx_mock.add_response(url=PRODUCE_URL, json={"error_code": 200})
    headers = {"Authorization": f"Bearer {token()}"}

    async with serve_app(app) as client:
        down = await client.post("/jobs-search", json={"query": "x"}, headers=headers)
        up = await client.post("/jobs-search", json={"query": "x"}, headers=headers)

    assert down.status_code == 503
    assert down.json()["error"] == "auth_unavailable"
    assert down.headers["retry-after"]
    assert up.status_code == 202


async def test_jwks_fetched_once_for_many_requests(
    serve_app: Any, app: Any, httpx_mock: HTTPXMock
) -> None:
    """Known keys are cached: five searches (the burst), one JWKS fetch."""
    httpx_mock.add_response(url=JWKS_URL, json=jwks())
    httpx_mock.add_response(url=PRODUCE_URL, json={"error_code": 200}, is_reusable=True)
    headers = {"Authorization": f"Bearer {token()}"}

    async with serve_app(app) as client:
        answers = [
            await client.post("/jobs-search", json={"query": "x"}, headers=headers)
            for _ in range(5)
        ]

    assert {a.status_code for a in answers} == {202}
    assert len(httpx_mock.get_requests(url=JWKS_URL)) == 1


@pytest.mark.parametrize("role", ["anon", "service_role"])
async def test_token_of_another_role_is_401(
    serve_app: Any, app: Any, httpx_mock: HTTPXMock, role: str
) -> None:
    """Only a signed-in user's token starts a search."""
    httpx_mock.add_response(url=JWKS_URL, json=jwks())
    headers = {"Authorization": f"Bearer {token(role=role)}"}

    async with serve_app(app) as client:
        answer = await client.post("/jobs-search", json={"query": "x"}, headers=headers)

    assert answer.status_code == 401


async def test_unauthenticated_request_is_refused_before_its_body(
    serve_app: Any, app: Any
) -> None:
    """A stranger cannot hold the connection by sending a body slowly."""
    started = asyncio.Event()

    async def never_ending() -> Any:
        started.set()
        yield b'{"query": '
        await asyncio.sleep(3600)

    async with serve_app(app) as client:
        answer = await asyncio.wait_for(
            client.post(
                "/jobs-search",
                content=never_ending(),
                headers={"Content-Type": "application/json"},
            ),
            timeout=10,
        )

    assert answer.status_code == 401


async def test_body_slower_than_the_read_limit_is_408(
    serve_app: Any, make_settings: Any
) -> None:
    """A body that stops half way is answered 408 once the read limit passes."""
    app = create_app(make_settings(body_read_timeout_seconds=0.2))

    async def half_a_body() -> Any:
        yield b'{"query": '
        await asyncio.sleep(3600)

    async with serve_app(app) as client:
        answer = await asyncio.wait_for(
            client.post(
                "/jobs-search",
                content=half_a_body(),
                headers={"Content-Type": "application/json"},
            ),
            timeout=10,
        )

    assert answer.status_code == 408
    assert answer.json()["error"] == "request_timeout"


async def test_status_while_jwks_is_down_is_503(
    serve_app: Any, app: Any, httpx_mock: HTTPXMock
) -> None:
    """Reading a search cannot verify its owner while the keys are down: 503."""
    import uuid

    from jobsearch.message import SearchMessage, utcnow

    httpx_mock.add_exception(httpx.ConnectError("refused"), url=JWKS_URL)
    search = SearchMessage(
        search_id=uuid.uuid4(), query="x", requested_at=utcnow(), trace_id="t"
    )

    async with serve_app(app) as client:
        await app.state.store.record_queued(search, uuid.UUID(USER_ID))
        answer = await client.get(
            f"/jobs-search/{search.search_id}",
            headers={"Authorization": f"Bearer {token()}"},
        )

    assert answer.status_code == 503
    assert answer.json()["error"] == "auth_unavailable"
