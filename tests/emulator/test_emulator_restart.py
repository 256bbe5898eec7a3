"""Killing the emulator mid-stream loses nothing: at-least-once across a SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
from emulator_support import TOPIC, CaptureServer, connector_config, records, wait_for

CHILD = """
import asyncio, json, sys
from pathlib import Path
from jobsearch.emulator import Emulator
from jobsearch.settings import Settings

async def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    settings = Settings(_env_file=None, emulator_partitions=3)
    emulator = Emulator(settings, config, port=0, database=Path(sys.argv[2]),
                        poll_seconds=0.05)
    await emulator.start()
    print(emulator.port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def _spawn(
    config: Path, database: Path
) -> tuple[asyncio.subprocess.Process, int]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(config), str(database),
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 15)
    return child, int(line)


def _kill(child: asyncio.subprocess.Process) -> None:
    child.send_signal(signal.SIGKILL)


@pytest.mark.slow
async def test_emulator_killed_mid_stream_delivers_every_record_after_restart(
    tmp_path: Path, capture: CaptureServer
) -> None:
    """SIGKILL after some of 200 deliveries; the restart delivers all the rest."""
    capture.delay = 0.005
    config = tmp_path / "connector.json"
    config.write_text(json.dumps(connector_config(f"{capture.url}/hook")))
    database = tmp_path / "emulator.sqlite3"
    child, port = await _spawn(config, database)
    body = "".join(
        json.dumps({"key": {"type": "STRING", "data": f"u{n % 7}"},
                    "value": {"type": "JSON", "data": {"n": n}}})
        for n in range(200)
    )  # fmt: skip
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{port}/kafka/v3/clusters/lkc-local/topics/{TOPIC}/records",
            content=body, headers={"Content-Type": "application/json"},
            auth=("local", "local"),
        )  # fmt: skip
    assert response.text.count('"error_code":200') == 200

    try:
        await wait_for(lambda: len(capture.requests) >= 40)
    finally:
        _kill(child)
        await child.wait()
    delivered_before = len(capture.requests)
    child, _ = await _spawn(config, database)
    try:
        await wait_for(lambda: len(_delivered(capture)) == 200, seconds=15)
    finally:
        _kill(child)
        await child.wait()

    assert delivered_before < 200
    assert _delivered(capture) == set(range(200))
    assert len(records(database, TOPIC)) == 200


def _delivered(capture: CaptureServer) -> set[int]:
    return {json.loads(request.body)["n"] for request in capture.requests}
