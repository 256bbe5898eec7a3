"""`jobsearch emulator` and `jobsearch errors list|replay`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from jobsearch.connector.render import load_env, render_connector
from jobsearch.emulator.log import EventLog, NewRecord, Record
from jobsearch.emulator.reports import TopicNames
from jobsearch.emulator.server import Emulator
from jobsearch.errors import ConfigurationError, JobSearchError
from jobsearch.settings import Settings, load_settings, sqlite_path_from_url

console = Console()
stderr = Console(stderr=True)
errors_app = typer.Typer(help="Show and re-deliver records in the error topic.")

TopicOption = Annotated[str, typer.Option("--topic", help="Error topic to read.")]
_DEFAULT_ERROR_TOPIC = TopicNames().error


def emulator_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="REST port; 0 picks a free one.")] = 8082,
    connector: Annotated[
        Path | None,
        typer.Option(help="Connector JSON to deliver with (rendered from env/.env)."),
    ] = None,
) -> None:
    """Run Confluent REST v3 and the HTTP Sink locally until Ctrl-C or SIGTERM.

    Example: SINK_WEBHOOK_URL=http://127.0.0.1:8001/process-job-search
    SINK_CONNECTOR_TOKEN=... jobsearch emulator --connector connector/http-sink.json
    """
    try:
        settings = load_settings()
        config = (
            render_connector(connector, _local_defaults(settings) | load_env())
            if connector
            else None
        )
        emulator = Emulator(settings, config, host=host, port=port)
        asyncio.run(_serve_until_signalled(emulator))
    except JobSearchError as exc:
        stderr.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None


def _local_defaults(settings: Settings) -> dict[str, str]:
    """Placeholders the emulator can fill itself: its own credentials and topic."""
    key, secret = settings.rest_credentials
    return {
        "CONFLUENT_API_KEY": key,
        "CONFLUENT_API_SECRET": secret.get_secret_value(),
        "KAFKA_TOPIC_JOB_SEARCH": settings.kafka_topic_job_search,
    }


async def _serve_until_signalled(emulator: Emulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with emulator:
        delivery = emulator.config.http_api_url if emulator.config else "off"
        stderr.print(f"emulator on {emulator.url} (delivery: {delivery}); Ctrl-C stops")
        await stop.wait()


@errors_app.command("list")
def list_errors(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    topic: TopicOption = _DEFAULT_ERROR_TOPIC,
) -> None:
    """Every record in the error topic, with what went wrong.

    Example: jobsearch errors list --json
    """
    with _open_log() as log:
        rows = [_summary(record) for record in log.records(topic)]
    if as_json:
        for row in rows:
            console.print_json(json.dumps(row))
        return
    table = Table("offset", "input", "status", "reason", "error", "replayed")
    for row in rows:
        cells = [row[name] for name in ("offset", "input", "status_code")]
        cells += [row["reason_phrase"], row["error_message"], row["replayed"]]
        table.add_row(*("" if cell is None else str(cell) for cell in cells))
    console.print(table)


@errors_app.command("replay")
def replay_errors(
    offsets: Annotated[list[int] | None, typer.Argument(help="Error offsets.")] = None,
    replay_all: Annotated[
        bool, typer.Option("--all", help="Every record not replayed yet.")
    ] = False,
    topic: TopicOption = _DEFAULT_ERROR_TOPIC,
) -> None:
    """Re-append the original records so the running emulator delivers them again.

    Example: jobsearch errors replay --all
    """
    if bool(offsets) == replay_all:
        stderr.print("give either --all or one or more OFFSETs")
        raise typer.Exit(2)
    with _open_log() as log:
        chosen = _choose(log.records(topic), offsets or [], replay_all)
        for record in chosen:
            replayed = replay_error(log, record)
            stderr.print(
                f"offset {record.offset} -> {replayed.topic}/{replayed.partition}"
                f"@{replayed.offset}"
            )
    if not chosen:
        stderr.print("nothing to replay")


def replay_error(log: EventLog, error: Record) -> Record:
    """Append the error record's original input again and mark the error replayed.

    Raises `ConfigurationError` when the original is no longer in the log.
    """
    topic = error.header("input_record_topic") or ""
    partition = int(error.header("input_record_partition") or -1)
    original = log.get(topic, partition, int(error.header("input_record_offset") or -1))
    if original is None:
        raise ConfigurationError(f"the input of error offset {error.offset} is gone")
    again = NewRecord(
        key=original.key,
        value=original.value,
        headers=original.headers,
        key_type=original.key_type,
        value_type=original.value_type,
        partition=original.partition,
    )
    appended = log.append(original.topic, again)
    log.mark_replayed(error.topic, error.partition, error.offset)
    return appended


def _choose(
    records: list[Record], offsets: list[int], replay_all: bool
) -> list[Record]:
    if replay_all:
        return [record for record in records if not record.replayed]
    by_offset = {record.offset: record for record in records}
    missing = [str(offset) for offset in offsets if offset not in by_offset]
    if missing:
        stderr.print(f"no error record at offset {', '.join(missing)}")
        raise typer.Exit(1)
    # An offset named twice is replayed once; naming a replayed one replays it again.
    return [by_offset[offset] for offset in dict.fromkeys(offsets)]


@contextlib.contextmanager
def _open_log() -> Iterator[EventLog]:
    try:
        settings = load_settings()
        path = sqlite_path_from_url(settings.emulator_database_url)
        if not path.is_file():
            # An empty table here would read as "nothing failed".
            raise ConfigurationError(
                f"no emulator log at {path.resolve()}; set EMULATOR_DATABASE_URL "
                "to the emulator's file"
            )
        log = EventLog(path, partitions=settings.emulator_partitions)
    except JobSearchError as exc:
        stderr.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    try:
        yield log
    except ConfigurationError as exc:
        stderr.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    finally:
        log.close()


def _summary(record: Record) -> dict[str, Any]:
    source = [
        record.header(f"input_record_{part}")
        for part in ("topic", "partition", "offset")
    ]
    return {
        "offset": record.offset,
        "input": "/".join(part or "?" for part in source),
        "status_code": record.header("status_code"),
        "reason_phrase": record.header("reason_phrase"),
        "error_message": (
            record.header("error_message")
            or record.header("exception")
            or record.header("response_content")
        ),
        "url": record.header("url"),
        "replayed": record.replayed,
    }
