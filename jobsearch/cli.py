"""The `jobsearch` command: serve the apps, run the local stack, the demo and tools."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from rich.console import Console
from starlette.types import ASGIApp

from jobsearch.connector.commands import app as connector_app
from jobsearch.emulator.commands import emulator_command, errors_app
from jobsearch.errors import JobSearchError
from jobsearch.logs import configure_logging
from jobsearch.settings import Settings, load_settings

app = typer.Typer(
    help="Take slow job searches off the web request.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(
    connector_app, name="connector", help="Render, lint and apply the connector."
)
app.add_typer(errors_app, name="errors", help="List and replay the error topic.")
app.command("emulator")(emulator_command)

console = Console(stderr=True)
Host = Annotated[str, typer.Option(envvar="HOST", help="Interface to listen on.")]


def _settings() -> Settings:
    try:
        settings = load_settings()
    except JobSearchError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    configure_logging(settings)
    return settings


def _serve(app: ASGIApp, host: str, port: int) -> None:
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        lifespan="on",
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        timeout_graceful_shutdown=10,
    )


@app.command()
def producer(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8000,
) -> None:
    """Serve producer_app (`POST /jobs-search`).

    Example: jobsearch producer --port 8000
    """
    from producer_app.main import create_app

    _serve(create_app(_settings()), host, port)


@app.command()
def sink(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8001,
) -> None:
    """Serve sink_app (`POST /process-job-search`).

    Example: SINK_BEARER_TOKEN=... jobsearch sink --port 8001
    """
    from sink_app.main import create_app

    _serve(create_app(_settings()), host, port)


@app.command()
def dev(
    emulator_port: Annotated[int, typer.Option(help="Emulator port.")] = 8082,
    producer_port: Annotated[int, typer.Option(help="Producer port.")] = 8000,
    sink_port: Annotated[int, typer.Option(help="Sink port.")] = 8001,
) -> None:
    """Run emulator, producer and sink together until Ctrl-C.

    Example: jobsearch dev
    """
    from jobsearch.stack import StackPorts, local_stack

    settings = _settings()
    ports = StackPorts(emulator_port, producer_port, sink_port)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with local_stack(settings, ports) as stack:
            console.print(f"emulator  listening on {stack.emulator_url}")
            console.print(f"producer  listening on {stack.producer_url}")
            console.print(f"sink      listening on {stack.sink_url}")
            console.print("Ctrl-C stops all three")
            await stop.wait()
            console.print("stopping…")

    asyncio.run(run())
    console.print("stopped")


@app.command()
def demo(
    pages: Annotated[
        Path | None,
        typer.Option(help="Folder of .html job pages to search (default: examples)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the search status as JSON.")
    ] = False,
) -> None:
    """Run one search end to end on the local stack and print the jobs found.

    Example: jobsearch demo --pages examples/pages
    """
    from jobsearch.demo import DEFAULT_PAGES, run_demo

    settings = _settings()
    # The demo shows its own progress; request lines would scroll it away.
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    folder = pages or DEFAULT_PAGES
    if not folder.is_dir():
        console.print(f"[red]no such folder: {folder}")
        raise typer.Exit(2)
    try:
        code = asyncio.run(run_demo(settings, folder, as_json=as_json))
    except JobSearchError as exc:
        console.print(f"[red]demo failed: {exc}")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


ProducerUrl = Annotated[
    str,
    typer.Option(envvar="JOBSEARCH_PRODUCER_URL", help="Base URL of producer_app."),
]
UserToken = Annotated[
    str | None,
    typer.Option(
        envvar="JOBSEARCH_USER_TOKEN",
        help="The user's Supabase JWT, when the producer requires one.",
        show_default=False,
    ),
]


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to search for.")],
    location: Annotated[str | None, typer.Option(help="Where.")] = None,
    remote: Annotated[bool | None, typer.Option("--remote/--no-remote")] = None,
    url: Annotated[
        list[str] | None, typer.Option("--url", help="A page to read; repeatable.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
    wait: Annotated[bool, typer.Option(help="Wait and show the jobs.")] = False,
    wait_seconds: Annotated[
        float, typer.Option(min=1, help="How long --wait waits at most.")
    ] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    producer_url: ProducerUrl = "http://127.0.0.1:8000",
    token: UserToken = None,
) -> None:
    """Send a search to a running producer.

    Example: jobsearch search "python developer" --location Berlin --wait
    """
    from jobsearch.terminal import (
        print_jobs,
        producer_client,
        submit,
        submit_and_wait,
    )

    body: dict[str, object] = {"searchQuery": query, "limit": limit}
    if location:
        body["location"] = location
    if remote is not None:
        body["remote"] = remote
    if url:
        body["urls"] = url

    async def run() -> dict[str, Any]:
        async with producer_client(producer_url) as client:
            if not wait:
                return await submit(client, body, token)
            return await submit_and_wait(
                client, body, console, wait_seconds=wait_seconds, token=token
            )

    result = _run_client(run)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    elif wait:
        print_jobs(Console(), result)
    else:
        typer.echo(f"{result['search_id']}  {result['status_url']}")


@app.command()
def status(
    search_id: Annotated[str, typer.Argument(help="The id `search` printed.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    producer_url: ProducerUrl = "http://127.0.0.1:8000",
    token: UserToken = None,
) -> None:
    """Show a search's status and the jobs found so far.

    Example: jobsearch status 3f82c561-c9bb-45b9-a489-dc2b9167d2ee
    """
    from jobsearch.terminal import fetch_status, print_jobs, producer_client

    try:
        search_id = str(uuid.UUID(search_id))
    except ValueError:
        console.print("[red]SEARCH_ID must be a UUID, as `search` printed it")
        raise typer.Exit(2) from None

    async def run() -> dict[str, Any]:
        async with producer_client(producer_url) as client:
            found = await fetch_status(client, f"/jobs-search/{search_id}", token)
        if found is None:
            console.print(f"[red]no search {search_id}")
            raise typer.Exit(1)
        return found

    result = _run_client(run)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        print_jobs(Console(), result)


def _run_client(
    run: Callable[[], Coroutine[Any, Any, dict[str, Any]]],
) -> dict[str, Any]:
    try:
        return asyncio.run(run())
    except httpx.HTTPError as exc:
        console.print(f"[red]cannot reach the producer: {type(exc).__name__}")
        raise typer.Exit(1) from None
    except JobSearchError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
