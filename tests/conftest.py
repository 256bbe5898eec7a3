"""Fixtures shared by every test module."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from starlette.applications import Starlette

from jobsearch.settings import Settings

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(autouse=True)
def _instant_retries() -> Iterator[None]:
    """Retries happen, but without sleeping."""
    with stamina.set_testing(True, attempts=3):
        yield


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings that ignore the developer's `.env` and use a temporary database."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
            "emulator_database_url": f"sqlite:///{tmp_path / 'emulator.sqlite3'}",
            "confluent_rest_url": "http://rest.example.test",
            "confluent_cluster_id": "lkc-test",
            "confluent_api_key": "test-key",
            "confluent_api_secret": "test-secret",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give a client that talks to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            yield client


@pytest.fixture
def serve_app() -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[Any]]:
    """`async with serve_app(app) as client:` runs the app for one test."""
    return serve


async def _final_status(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    states: tuple[str, ...] = ("completed", "failed"),
) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = await client.get(url, headers=headers)
        if response.status_code == 200 and response.json()["status"] in states:
            return response
        await asyncio.sleep(0.2)
    raise AssertionError("the search did not finish within 60 s")


@pytest.fixture
def final_status() -> Callable[..., Awaitable[httpx.Response]]:
    """`await final_status(client, url)` polls until the search is in `states`."""
    return _final_status
