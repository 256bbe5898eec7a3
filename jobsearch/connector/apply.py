"""Render, lint and hand the connector to the Confluent CLI (or print the command)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jobsearch.connector.lint import Finding, has_errors, lint_connector
from jobsearch.connector.render import render_connector, write_rendered
from jobsearch.errors import ConfigurationError

Runner = Callable[[Sequence[str]], int]


@dataclass(frozen=True)
class ApplyResult:
    """What `apply_connector` did: the command, whether it ran, and its exit code."""

    command: list[str]
    ran: bool
    returncode: int
    findings: list[Finding]


def confluent_command(
    rendered: Path, *, cluster: str | None, update: str | None
) -> list[str]:
    """The `confluent connect cluster create|update` argv for a rendered file."""
    if update:
        command = ["confluent", "connect", "cluster", "update", update]
    elif cluster:
        command = ["confluent", "connect", "cluster", "create"]
    else:
        raise ConfigurationError(
            "creating a connector needs --cluster (or CONFLUENT_CLUSTER_ID)"
        )
    command += ["--config-file", str(rendered)]
    return command + (["--cluster", cluster] if cluster else [])


def apply_connector(
    path: Path,
    env: Mapping[str, str],
    *,
    out: Path,
    cluster: str | None = None,
    update: str | None = None,
    runner: Runner | None = None,
) -> ApplyResult:
    """Render `path`, refuse on lint errors, then run (or describe) the CLI call.

    Raises `ConfigurationError` for unresolved placeholders or lint errors.
    """
    config = render_connector(path, env)
    findings = lint_connector(config)
    if has_errors(findings):
        names = ", ".join(
            sorted({f.property for f in findings if f.severity == "error"})
        )
        raise ConfigurationError(f"connector lint failed on: {names}")
    command = confluent_command(
        write_rendered(config, out), cluster=cluster, update=update
    )
    executable = shutil.which("confluent", path=env.get("PATH"))
    if executable is None:
        return ApplyResult(command, ran=False, returncode=0, findings=findings)
    code = (runner or _run)([executable, *command[1:]])
    return ApplyResult(command, ran=True, returncode=code, findings=findings)


def _run(argv: Sequence[str]) -> int:
    # argv is a list built above, never a shell string.
    return subprocess.run(list(argv), check=False).returncode  # noqa: S603


def format_command(command: Sequence[str]) -> str:
    """The command as one line a shell would accept."""
    return shlex.join(command)
