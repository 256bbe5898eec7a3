"""The `jobsearch` command: serve the apps, run the local stack, the demo and tools."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

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
Host = Annotated[str, typer.Option(help="Interface to listen on.")]


def _settings() -> Settings:
    try:
        settings = load_settings()
    except JobSearchError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    configure_logging(settings)
    return settings


def _serve(factory: str, host: str, port: int) -> None:
    uvicorn.run(
        factory,
        factory=True,
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
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve producer_app (`POST /jobs-search`).

    Example: jobsearch producer --port 8000
    """
    _settings()
    _serve("producer_app.app:create_app", host, port)


@app.command()
def sink(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
) -> None:
    """Serve sink_app (`POST /process-job-search`).

    Example: SINK_BEARER_TOKEN=... jobsearch sink --port 8001
    """
    _settings()
    _serve("sink_app.app:create_app", host, port)


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
        async with local_stack(settings, ports) as stack:
            console.print(f"emulator  listening on {stack.emulator_url}")
            console.print(f"producer  listening on {stack.producer_url}")
            console.print(f"sink      listening on {stack.sink_url}")
            console.print("Ctrl-C stops all three")
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
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


def main() -> None:
    """Console-script entry point."""
    app()
