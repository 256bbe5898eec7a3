"""A canary set as every secret never shows up anywhere the flow writes or answers."""

from __future__ import annotations

import asyncio
import base64
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from jobsearch.emulator import EventLog
from jobsearch.emulator.reports import TopicNames
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings, sqlite_path_from_url
from jobsearch.stack import StackPorts, local_stack

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pages"
CANARY = "CANARY-7f3a9c"
USER_ID = "8a3c1f1e-6f0b-4b6e-9d0e-1f2a3b4c5d6e"

pytestmark = pytest.mark.slow


def _user_token() -> str:
    claims = {
        "sub": USER_ID,
        "aud": "authenticated",
        "role": "authenticated",
        "exp": int(time.time()) + 600,
    }
    return jwt.encode(claims, f"{CANARY}-jwt-secret-long-enough", algorithm="HS256")


def _database_text(path: Path) -> str:
    with sqlite3.connect(path) as db:
        tables = [
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return "\n".join(
            repr(row)
            for table in tables
            for row in db.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - own schema
        )


async def test_canary_secret_never_leaks(
    make_settings: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    final_status: Callable[..., Awaitable[httpx.Response]],
) -> None:
    """Logs, answers, error-topic records and stored rows never hold a secret."""
    settings: Settings = make_settings(
        confluent_rest_url=None,
        confluent_cluster_id=None,
        confluent_api_key=f"{CANARY}-key",
        confluent_api_secret=f"{CANARY}-secret",
        sink_bearer_token=f"{CANARY}-sink-token",
        supabase_jwt_secret=f"{CANARY}-jwt-secret-long-enough",
        scrape_allow_private=True,
    )
    caplog.set_level(logging.DEBUG)
    headers = {"Authorization": f"Bearer {_user_token()}"}
    answers: list[httpx.Response] = []
    pages = Starlette(routes=[Mount("/", StaticFiles(directory=EXAMPLES))])

    async with (
        BackgroundServer(pages) as site,
        local_stack(settings, StackPorts(0, 0, 0)) as stack,
        httpx.AsyncClient(base_url=stack.producer_url) as client,
    ):
        body = {"query": "x", "urls": [f"{site.url}/01-jsonld-single.html"]}
        accepted = await client.post("/jobs-search", json=body, headers=headers)
        answers += [
            accepted,
            await final_status(
                client,
                accepted.json()["status_url"],
                headers=headers,
                states=("completed",),
            ),
        ]
        answers.append(await client.post("/jobs-search", json=body))
        answers.append(await client.get("/metrics"))
        # A record the sink refuses for good lands in the error topic.
        answers.append(
            await client.post(
                f"{stack.emulator_url}/kafka/v3/clusters/lkc-local/topics/"
                f"{settings.kafka_topic_job_search}/records",
                json={"value": {"type": "JSON", "data": {"version": 2}}},
                auth=(f"{CANARY}-key", f"{CANARY}-secret"),
            )
        )
        emulator_file = sqlite_path_from_url(settings.emulator_database_url)
        log = EventLog(emulator_file)
        try:
            for _ in range(100):
                errors = log.records(TopicNames().error)
                if errors:
                    break
                await asyncio.sleep(0.2)
        finally:
            log.close()

    assert accepted.status_code == 202
    assert errors, "the refused record never reached the error topic"
    for answer in answers:
        assert CANARY not in answer.text
        assert CANARY not in str(answer.headers)
    for record in errors:
        dumped = repr(record) + repr([(name, value) for name, value in record.headers])
        assert CANARY not in dumped
        assert CANARY not in base64.b64encode(dumped.encode()).decode()
    assert CANARY not in caplog.text
    assert CANARY not in _database_text(settings.sqlite_path)
    assert CANARY not in _database_text(emulator_file)
