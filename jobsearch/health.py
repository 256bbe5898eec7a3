"""`/healthz` (the process is up) and `/readyz` (its dependencies answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobsearch.errors import JobSearchError
from jobsearch.store import Store

CHECK_TIMEOUT = 2.0


async def healthz(request: Request) -> Response:
    """Always 200 while the process serves requests."""
    return JSONResponse({"status": "ok"})


async def check(probe: Awaitable[None]) -> str:
    """`ok`, or the reason the probe failed; never waits more than two seconds."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe
    except TimeoutError:
        return "timeout"
    except JobSearchError as exc:
        return type(exc).__name__
    return "ok"


async def check_store(store: Store) -> str:
    """Whether the store answers a trivial query."""
    return await check(store.ping())


def readiness(checks: Mapping[str, str]) -> Response:
    """200 when every check passed, else 503 naming the failed ones."""
    ready = all(result == "ok" for result in checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": dict(checks)}
    return JSONResponse(body, status_code=200 if ready else 503)
