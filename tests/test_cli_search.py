"""`jobsearch search --wait` and `jobsearch status` against `jobsearch dev`."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from jobsearch.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pages"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def page_server() -> Iterator[str]:
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(EXAMPLES)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def dev_stack(tmp_path: Path) -> Iterator[str]:
    ports = [free_port() for _ in range(3)]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
        "EMULATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'emulator.sqlite3'}",
        "SCRAPE_ALLOW_PRIVATE": "true",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable, "-m", "jobsearch.cli", "dev",
        "--emulator-port", str(ports[0]),
        "--producer-port", str(ports[1]),
        "--sink-port", str(ports[2]),
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        command, env=env, cwd=tmp_path, stderr=subprocess.DEVNULL
    )
    producer = f"http://127.0.0.1:{ports[1]}"
    try:
        _wait_until_up(producer, process)
        yield producer
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "jobsearch dev exited"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError("jobsearch dev did not come up within 30 s")


def test_search_wait_and_status_against_dev(tmp_path: Path) -> None:
    """A search waited for in the terminal ends with its jobs; status shows them."""
    runner = CliRunner()
    with page_server() as pages, dev_stack(tmp_path) as producer:
        searched = runner.invoke(
            app,
            [
                "search", "engineer",
                "--url", f"{pages}/01-jsonld-single.html",
                "--url", f"{pages}/06-listing.html",
                "--wait", "--wait-seconds", "60", "--json",
                "--producer-url", producer,
            ],
        )  # fmt: skip
        assert searched.exit_code == 0, searched.output
        result = json.loads(searched.stdout[searched.stdout.index("{") :])
        shown = runner.invoke(
            app, ["status", result["search_id"], "--json", "--producer-url", producer]
        )
        refused = runner.invoke(app, ["status", "../../metrics"])

    assert result["status"] == "completed"
    assert len(result["jobs"]) == 4
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["jobs_found"] == 4
    assert refused.exit_code == 2
