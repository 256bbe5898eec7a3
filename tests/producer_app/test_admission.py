"""Admission control: per-caller and global token buckets."""

from __future__ import annotations

from typing import Any

import httpx
from pytest_httpx import HTTPXMock
from testdata import PRODUCE_URL

from producer_app.admission import Admission
from producer_app.main import create_app


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_admit_caller_burst_then_waits_for_refill() -> None:
    """A caller gets its burst at once, then one search per refill interval."""
    clock = FakeClock()
    admission = Admission(
        per_caller_per_minute=6, per_caller_burst=2, global_per_second=100, clock=clock
    )

    assert [admission.admit("u1") for _ in range(3)] == [0, 0, 10]
    assert admission.admit("u2") == 0
    clock.now += 10
    assert admission.admit("u1") == 0


def test_admit_global_cap_applies_across_callers() -> None:
    """Many callers together cannot pass the global rate."""
    clock = FakeClock()
    admission = Admission(
        per_caller_per_minute=600, per_caller_burst=5, global_per_second=2, clock=clock
    )

    waits = [admission.admit(f"caller-{n}") for n in range(3)]

    assert waits == [0, 0, 1]
    assert admission.admit_global() == 1


async def test_submit_past_the_limit_is_429_with_retry_after(
    make_settings: Any, httpx_mock: HTTPXMock
) -> None:
    """A remote caller past its burst gets 429 rate_limited, as the frontend expects."""
    httpx_mock.add_response(url=PRODUCE_URL, json={"error_code": 200}, is_reusable=True)
    app = create_app(
        make_settings(admission_per_user_burst=2, admission_per_user_per_minute=1)
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        answers = [
            await client.post("/jobs-search", json={"query": "x"}) for _ in range(3)
        ]

    assert [a.status_code for a in answers] == [202, 202, 429]
    refused = answers[2]
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["retryAfterSeconds"] == int(refused.headers["retry-after"])
    assert len(httpx_mock.get_requests()) == 2
