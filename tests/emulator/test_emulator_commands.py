"""`jobsearch emulator`, `jobsearch errors list|replay` and the partitioner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from emulator_support import (
    CONNECTOR_FILE,
    TOPIC,
    CaptureServer,
    connector_config,
    produce,
    records,
    wait_for,
)
from emulator_support import settings as local_settings
from typer.testing import CliRunner

from jobsearch.emulator import Emulator, EventLog
from jobsearch.emulator.commands import emulator_command, errors_app
from jobsearch.emulator.partitioner import murmur2, partition_for_key


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The emulator file, also named in EMULATOR_DATABASE_URL for the CLI."""
    path = tmp_path / "emulator.sqlite3"
    monkeypatch.setenv("EMULATOR_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    return path


async def _failed_once(database: Path, capture: CaptureServer) -> Emulator:
    capture.default = (400, b"bad", {})
    emulator = Emulator(
        local_settings(), connector_config(f"{capture.url}/hook"), port=0,
        database=database, poll_seconds=0.05,
    )  # fmt: skip
    await emulator.start()
    await produce(emulator, {"n": 1}, key="k")
    await wait_for(lambda: bool(records(database, "error-lcc-local")))
    return emulator


async def test_errors_list_json_shows_status_and_input(
    database: Path, capture: CaptureServer
) -> None:
    """`errors list --json` prints one object per error record."""
    emulator = await _failed_once(database, capture)
    await emulator.stop()

    result = CliRunner().invoke(errors_app, ["list", "--json"])

    row = json.loads(result.stdout)
    assert result.exit_code == 0
    assert (row["offset"], row["status_code"], row["replayed"]) == (0, "400", False)
    assert row["input"].startswith(f"{TOPIC}/")


async def test_errors_replay_all_redelivers_once(
    database: Path, capture: CaptureServer
) -> None:
    """`errors replay --all` re-appends the original; a second --all does nothing."""
    emulator = await _failed_once(database, capture)
    capture.default = (200, b"ok", {})

    first = CliRunner().invoke(errors_app, ["replay", "--all"])
    await wait_for(lambda: len(capture.requests) == 2)
    second = CliRunner().invoke(errors_app, ["replay", "--all"])
    await emulator.stop()

    assert first.exit_code == second.exit_code == 0
    assert "nothing to replay" in second.stderr
    original, replayed = records(database, TOPIC)
    assert (replayed.key, replayed.value, replayed.headers) == (
        original.key, original.value, original.headers,
    )  # fmt: skip
    assert capture.requests[1].body == b'{"n":1}'
    assert records(database, "error-lcc-local")[0].replayed


@pytest.mark.parametrize(("args", "code"), [([], 2), (["--all", "0"], 2), (["9"], 1)])
def test_errors_replay_bad_arguments_exit_nonzero(
    database: Path, args: list[str], code: int
) -> None:
    """Replay needs exactly one of --all or existing offsets."""
    EventLog(database).close()

    result = CliRunner().invoke(errors_app, ["replay", *args])

    assert result.exit_code == code


@pytest.mark.parametrize(
    ("key", "signed"),
    [
        ("21", -973932308),
        ("foobar", -790332482),
        ("a-little-bit-long-string", -985981536),
        ("a-little-bit-longer-string", -1486304829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        ("abc", 479470107),
    ],
)
def test_murmur2_matches_kafka_vectors(key: str, signed: int) -> None:
    """The hash equals Kafka's Utils.murmur2 on its own test vectors."""
    assert murmur2(key.encode()) == signed % 2**32


def test_partition_for_key_is_stable_and_in_range() -> None:
    """A key always maps to the same partition inside the count."""
    assert partition_for_key(b"user-1", 3) == partition_for_key(b"user-1", 3)
    assert {partition_for_key(f"k{n}".encode(), 3) for n in range(50)} == {0, 1, 2}


def test_emulator_command_unresolved_placeholders_exits_1(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The emulator refuses to start on a connector it cannot render, naming why."""
    monkeypatch.delenv("SINK_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("SINK_CONNECTOR_TOKEN", "t")

    with pytest.raises(typer.Exit) as stopped:
        emulator_command("127.0.0.1", 0, CONNECTOR_FILE)

    assert stopped.value.exit_code == 1
    assert "SINK_WEBHOOK_URL" in capsys.readouterr().err
