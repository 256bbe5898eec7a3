"""`jobsearch demo`: one real search from the frontend's request to stored rows.

Pages from a folder are served on loopback, the whole stack runs on free ports with a
temporary database, and one search for those pages goes through the producer, the
emulator's Kafka log and HTTP Sink delivery, and the sink's pipeline.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from jobsearch.errors import JobSearchError
from jobsearch.message import MAX_URLS
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings
from jobsearch.stack import StackPorts, local_stack
from jobsearch.terminal import print_jobs, producer_client, submit_and_wait

DEFAULT_PAGES = Path(__file__).resolve().parents[1] / "examples" / "pages"
WAIT_SECONDS = 180.0


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
        print_jobs(console, status)
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
    body = {"searchQuery": "demo: job pages", "urls": urls, "limit": 100}
    async with producer_client(producer_url) as client:
        return await submit_and_wait(client, body, console, wait_seconds=WAIT_SECONDS)
