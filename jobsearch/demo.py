"""`jobsearch demo`: one real search from the frontend's request to stored rows.

Pages from a folder are served on loopback, the whole stack runs on free ports with a
temporary database, and one search for those pages goes through the producer, the
emulator's Kafka log and HTTP Sink delivery, and the sink's pipeline.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from jobsearch.errors import JobSearchError
from jobsearch.message import MAX_URLS
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings
from jobsearch.stack import StackPorts, local_stack

DEFAULT_PAGES = Path(__file__).resolve().parents[1] / "examples" / "pages"
WAIT_SECONDS = 180.0
FINAL_STATES = ("completed", "failed")


class DemoError(JobSearchError):
    """The demo could not run its search to the end."""


def page_names(pages: Path) -> list[str]:
    """The `.html` files of the folder, sorted."""
    return sorted(path.name for path in pages.glob("*.html"))


async def run_demo(settings: Settings, pages: Path, *, as_json: bool) -> int:
    """Run the demo; returns the process exit code."""
    console = Console(stderr=as_json)
    files = await asyncio.to_thread(page_names, pages)
    if not files:
        raise DemoError(f"no .html pages in {pages}")
    if len(files) > MAX_URLS:
        console.print(f"[yellow]{len(files)} pages; the first {MAX_URLS} are used")
        files = files[:MAX_URLS]
    with tempfile.TemporaryDirectory(prefix="jobsearch-demo-") as workdir:
        demo_settings = _demo_settings(settings, Path(workdir))
        pages_app = Starlette(routes=[Mount("/", StaticFiles(directory=pages))])
        async with (
            BackgroundServer(pages_app) as pages_server,
            local_stack(demo_settings, StackPorts(0, 0, 0)) as stack,
        ):
            urls = [f"{pages_server.url}/{name}" for name in files]
            console.print(f"pages served at {pages_server.url} ({len(urls)} pages)")
            status = await _search_and_wait(stack.producer_url, urls, console)
    if as_json:
        print(json.dumps(status, indent=2))
    else:
        _print_jobs(console, status)
    return 0 if status["status"] == "completed" and status["jobs"] else 1


def _demo_settings(settings: Settings, workdir: Path) -> Settings:
    return settings.model_copy(
        update={
            "database_url": f"sqlite:///{workdir / 'jobs.sqlite3'}",
            "emulator_database_url": f"sqlite:///{workdir / 'emulator.sqlite3'}",
            "scrape_allow_private": True,
            "confluent_rest_url": None,
            "confluent_cluster_id": None,
            "confluent_api_key": None,
            "confluent_api_secret": None,
            "supabase_jwt_secret": None,
            "supabase_jwks_url": None,
        }
    )


async def _search_and_wait(
    producer_url: str, urls: list[str], console: Console
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=producer_url, timeout=10.0) as client:
        body = {"searchQuery": "demo: job pages", "urls": urls, "limit": 100}
        accepted = await client.post("/jobs-search", json=body)
        if accepted.status_code != 202:
            raise DemoError(f"the producer answered {accepted.status_code}")
        search_id = accepted.json()["search_id"]
        console.print(f"search {search_id} queued")
        with console.status("waiting for the sink…") as spinner:
            return await _poll(client, accepted.json()["status_url"], spinner)


async def _poll(
    client: httpx.AsyncClient, status_url: str, spinner: Any
) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        response = await client.get(status_url)
        if response.status_code == 200:
            status: dict[str, Any] = response.json()
            spinner.update(
                f"{status['status']}: {status['jobs_found']} jobs, "
                f"{status['pages_total']} pages seen"
            )
            if status["status"] in FINAL_STATES:
                return status
        await asyncio.sleep(0.3)
    raise DemoError(f"the search did not finish within {WAIT_SECONDS:.0f} s")


def _print_jobs(console: Console, status: dict[str, Any]) -> None:
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
