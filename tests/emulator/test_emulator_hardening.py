"""Inputs found by attacking the emulator: deep JSON, a missing log file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from emulator_support import settings as local_settings
from typer.testing import CliRunner

from jobsearch.emulator import Emulator
from jobsearch.emulator.commands import errors_app


async def test_produce_deeply_nested_json_is_400(tmp_path: Path) -> None:
    """Nesting past the parser's limit is malformed input, not a server error."""
    body = b'{"value": {"type": "JSON", "data": ' + b"[" * 100_000 + b"]" * 100_000
    body += b"}}"

    async with (
        Emulator(local_settings(), None, port=0, database=tmp_path / "log.db") as emu,
        httpx.AsyncClient(base_url=emu.url) as client,
    ):
        response = await client.post(
            "/kafka/v3/clusters/lkc-local/topics/job-search-requests/records",
            content=body,
            headers={"Content-Type": "application/json"},
            auth=("local", "local"),
        )

    assert response.status_code == 400
    assert response.json()["error_code"] == 400


def test_errors_list_without_log_file_fails_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong EMULATOR_DATABASE_URL is an error, never an empty "no errors" table."""
    missing = tmp_path / "nowhere" / "emulator.sqlite3"
    monkeypatch.setenv("EMULATOR_DATABASE_URL", f"sqlite:///{missing}")
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(errors_app, ["list"])

    assert result.exit_code == 1
    assert "no emulator log" in result.output
    assert not missing.parent.exists()
