"""`connector apply` and `connector render` end to end, with a fake Confluent CLI."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from connector_support import ENV, REPOSITORY_FILE
from typer.testing import CliRunner

from jobsearch.connector.commands import app

FAKE_CLI = """#!/bin/sh
printf '%s\\n' "$@" > "{record}"
exit {code}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the placeholders set and an empty PATH."""
    monkeypatch.chdir(tmp_path)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CONFLUENT_CLUSTER_ID", raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return tmp_path


def _fake_confluent(workdir: Path, code: int = 0) -> Path:
    record = workdir / "argv.txt"
    script = workdir / "bin" / "confluent"
    script.write_text(FAKE_CLI.format(record=record, code=code))
    script.chmod(0o755)
    return record


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--cluster", "lkc-123"],
         ["connect", "cluster", "create", "--config-file", "{out}", "--cluster",
          "lkc-123"]),
        (["--cluster", "lkc-123", "--update", "lcc-9"],
         ["connect", "cluster", "update", "lcc-9", "--config-file", "{out}",
          "--cluster", "lkc-123"]),
    ],
)  # fmt: skip
def test_apply_with_cli_runs_it_with_rendered_file(
    workdir: Path, args: list[str], expected: list[str]
) -> None:
    """The fake `confluent` receives the exact argv; the rendered file is 0600."""
    record = _fake_confluent(workdir)
    out = workdir / "out.json"

    result = CliRunner().invoke(
        app, ["apply", str(REPOSITORY_FILE), "--out", str(out), *args]
    )

    assert result.exit_code == 0, result.output
    argv = record.read_text().splitlines()
    assert argv == [part.format(out=out) for part in expected]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "canary" not in result.output


def test_apply_cli_failure_exit_code_is_passed_on(workdir: Path) -> None:
    """A failing `confluent` call makes apply fail with its code."""
    _fake_confluent(workdir, code=3)

    result = CliRunner().invoke(
        app, ["apply", str(REPOSITORY_FILE), "--cluster", "lkc-1"]
    )

    assert result.exit_code == 3


def test_apply_without_cli_prints_the_command(workdir: Path) -> None:
    """Without `confluent` on PATH the exact command is printed instead."""
    out = workdir / "out.json"

    result = CliRunner().invoke(
        app, ["apply", str(REPOSITORY_FILE), "--out", str(out), "--cluster", "lkc-1"]
    )

    assert result.exit_code == 0
    command = f"confluent connect cluster create --config-file {out} --cluster lkc-1"
    assert command in result.stdout
    assert out.exists()


def test_apply_lint_errors_stop_before_cli(workdir: Path) -> None:
    """A config with lint errors is never handed to the CLI."""
    record = _fake_confluent(workdir)
    source = workdir / "bad.json"
    document = json.loads(REPOSITORY_FILE.read_text())
    document["config"]["request.body.format"] = "string"
    source.write_text(json.dumps(document))

    result = CliRunner().invoke(app, ["apply", str(source), "--cluster", "lkc-1"])

    assert result.exit_code == 1
    assert "request.body.format" in result.stderr
    assert not record.exists()


def test_apply_create_without_cluster_fails(workdir: Path) -> None:
    """Creating needs a cluster id."""
    result = CliRunner().invoke(app, ["apply", str(REPOSITORY_FILE)])

    assert result.exit_code == 1
    assert "--cluster" in result.stderr


def test_render_command_writes_file_and_masks_output(workdir: Path) -> None:
    """`connector render` writes 0600 and prints no secret."""
    out = workdir / "r.json"

    result = CliRunner().invoke(
        app, ["render", str(REPOSITORY_FILE), "--out", str(out)]
    )

    assert result.exit_code == 0
    assert "canary" not in result.output
    assert json.loads(out.read_text())["kafka.api.secret"] == "canary-secret-1"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_render_command_missing_placeholder_exits_1(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unresolved placeholder fails the command, naming it."""
    monkeypatch.delenv("SINK_CONNECTOR_TOKEN")

    result = CliRunner().invoke(app, ["render", str(REPOSITORY_FILE)])

    assert result.exit_code == 1
    assert "SINK_CONNECTOR_TOKEN" in result.stderr
