"""What a terminal user sees: submitting a search, waiting for it, its jobs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from jobsearch.errors import JobSearchError

FINAL_STATES = ("completed", "failed")


class SearchClientError(JobSearchError):
    """The producer refused the search or it did not finish in time."""


def producer_client(producer_url: str) -> httpx.AsyncClient:
    """A client for the producer's search routes."""
    return httpx.AsyncClient(base_url=producer_url, timeout=10.0)


async def submit(
    client: httpx.AsyncClient, body: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    """POST the search; returns the 202 body or raises naming the refusal."""
    response = await client.post(
        "/jobs-search", json=body, headers=_authorization(token)
    )
    if response.status_code != 202:
        raise SearchClientError(_refusal(response))
    accepted: dict[str, Any] = response.json()
    return accepted


async def fetch_status(
    client: httpx.AsyncClient, status_url: str, token: str | None = None
) -> dict[str, Any] | None:
    """The search's status, or None while the store does not know it yet."""
    response = await client.get(status_url, headers=_authorization(token))
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise SearchClientError(_refusal(response))
    status: dict[str, Any] = response.json()
    return status


async def wait_for(
    client: httpx.AsyncClient,
    status_url: str,
    console: Console,
    *,
    wait_seconds: float,
    token: str | None = None,
) -> dict[str, Any]:
    """Poll with a progress line until the search completes or fails."""
    deadline = time.monotonic() + wait_seconds
    with console.status("waiting for the sink…") as spinner:
        while time.monotonic() < deadline:
            try:
                status = await fetch_status(client, status_url, token)
            except httpx.TransportError:
                # A producer restarting mid-wait: the search goes on, so keep asking.
                spinner.update("the producer is not answering; retrying…")
                await asyncio.sleep(1.0)
                continue
            if status is not None:
                spinner.update(
                    f"{status['status']}: {status['jobs_found']} jobs, "
                    f"{status['pages_total']} pages seen"
                )
                if status["status"] in FINAL_STATES:
                    return status
            await asyncio.sleep(0.3)
    raise SearchClientError(f"the search did not finish within {wait_seconds:.0f} s")


async def submit_and_wait(
    client: httpx.AsyncClient,
    body: dict[str, Any],
    console: Console,
    *,
    wait_seconds: float,
    token: str | None = None,
) -> dict[str, Any]:
    """Submit the search, say it is queued, then `wait_for` it."""
    accepted = await submit(client, body, token)
    console.print(f"search {accepted['search_id']} queued")
    return await wait_for(
        client,
        accepted["status_url"],
        console,
        wait_seconds=wait_seconds,
        token=token,
    )


def print_jobs(console: Console, status: dict[str, Any]) -> None:
    """A table of the search's jobs, then its skipped pages."""
    table = Table(title=f"{len(status['jobs'])} jobs ({status['status']})")
    for column in ("title", "company", "location", "remote", "salary"):
        table.add_column(column)
    for job in status["jobs"]:
        table.add_row(
            job["title"],
            job["company"],
            job["location"] or "",
            job["remote_type"] or "",
            format_salary(job),
        )
    console.print(table)
    if status.get("failure_reason"):
        console.print(f"[red]failed: {status['failure_reason']}")
    for error in status["errors"]:
        console.print(f"[yellow]skipped {error['url']}: {error['reason']}")


def format_salary(job: dict[str, Any]) -> str:
    """`50,000-70,000 EUR / year`, or empty when unknown."""
    low, high = job.get("salary_min"), job.get("salary_max")
    if low is None and high is None:
        return ""
    bounds = dict.fromkeys(value for value in (low, high) if value is not None)
    amounts = "-".join(f"{value:,}" for value in bounds)
    period = f" / {job['salary_period']}" if job.get("salary_period") else ""
    return f"{amounts} {job.get('salary_currency') or ''}{period}".strip()


def _authorization(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _refusal(response: httpx.Response) -> str:
    try:
        body = response.json()
        detail = f"{body['error']}: {body['message']}"
    except (ValueError, KeyError, TypeError):
        detail = "no JSON body"
    return f"the producer answered {response.status_code} ({detail})"
