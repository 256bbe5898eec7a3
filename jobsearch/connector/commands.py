"""`jobsearch connector render|lint|apply`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from jobsearch.connector.apply import apply_connector, format_command
from jobsearch.connector.config import load_connector_document, mask_config
from jobsearch.connector.lint import Finding, has_errors, lint_document
from jobsearch.connector.render import (
    DEFAULT_FILE,
    DEFAULT_OUT,
    load_env,
    render_connector,
    write_rendered,
)
from jobsearch.errors import ConfigurationError

T = TypeVar("T")
app = typer.Typer(help="Render, check and apply the HTTP Sink connector config.")
console = Console()
errors = Console(stderr=True)

FileArgument = Annotated[
    Path, typer.Argument(help="Connector JSON with ${VAR} placeholders.")
]
OutOption = Annotated[Path, typer.Option("--out", help="Where to write (mode 0600).")]


@app.command()
def render(file: FileArgument = DEFAULT_FILE, out: OutOption = DEFAULT_OUT) -> None:
    """Fill placeholders from the environment and .env; write owner-only.

    Example: jobsearch connector render --out var/connector/http-sink.rendered.json
    """
    config = _or_exit(lambda: render_connector(file, load_env()))
    write_rendered(config, out)
    console.print_json(json.dumps(mask_config(config)))
    errors.print(f"wrote {out} (secrets masked above)")


@app.command()
def lint(file: FileArgument = DEFAULT_FILE) -> None:
    """Check the file against the CLI's rules and the record-losing defaults.

    Example: jobsearch connector lint connector/http-sink.json
    """
    findings = lint_document(_or_exit(lambda: load_connector_document(file)))
    _show(findings)
    if has_errors(findings):
        raise typer.Exit(1)
    errors.print(f"{file}: no errors")


@app.command()
def apply(
    file: FileArgument = DEFAULT_FILE,
    cluster: Annotated[
        str | None, typer.Option(help="Kafka cluster id (lkc-...).")
    ] = None,
    update: Annotated[
        str | None, typer.Option(help="Update this connector id (lcc-...).")
    ] = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Render, lint, then create or update the connector with the Confluent CLI.

    Example: jobsearch connector apply --cluster lkc-abc123
    """
    env = load_env()
    target = cluster or env.get("CONFLUENT_CLUSTER_ID")
    result = _or_exit(
        lambda: apply_connector(file, env, out=out, cluster=target, update=update)
    )
    _show(result.findings)
    if not result.ran:
        errors.print("confluent CLI not found on PATH; run:")
        console.print(format_command(result.command), markup=False, soft_wrap=True)
        return
    raise typer.Exit(result.returncode)


def _or_exit(action: Callable[[], T]) -> T:
    try:
        return action()
    except ConfigurationError as exc:
        errors.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None


def _show(findings: list[Finding]) -> None:
    if not findings:
        return
    table = Table("severity", "property", "why")
    for finding in findings:
        table.add_row(finding.severity, finding.property, finding.message)
    errors.print(table)
