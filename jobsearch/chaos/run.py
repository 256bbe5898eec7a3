"""The fault run: N searches through the whole flow while every hop misbehaves.

Producer → emulator (REST v3, log, HTTP Sink) → fault proxy → two sink instances that
share one SQLite store, reading pages from a faulty page server and asking a faulty
model. Phase one produces the searches under faults and waits until the connector has
an outcome for every record. Phase two turns the faults off, replays the error topic
and waits again. The report counts what finished, what waited in the error topic and
what was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from jobsearch.chaos.faults import Dice, FaultyStore
from jobsearch.chaos.proxy import FaultProxy
from jobsearch.chaos.report import ChaosReport, PaidCalls, percentile, store_figures
from jobsearch.chaos.sinks import SinkPool
from jobsearch.chaos.tracker import Tracker
from jobsearch.chaos.upstreams import ModelServer, PageServer, page_path
from jobsearch.connector.render import render_connector
from jobsearch.emulator import Emulator
from jobsearch.emulator.commands import replay_error
from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings
from jobsearch.stack import CONNECTOR_FILE, connector_env
from jobsearch.store import open_store
from producer_app.main import create_app as create_producer
from sink_app.main import create_app as create_sink
from sink_app.pipeline.enrich import Enricher
from sink_app.pipeline.openai_enrich import (
    OpenAIConfig,
    OpenAIEnricher,
    build_openai_client,
)

POLL_SECONDS = 0.2
REPLAY_ROUNDS = 3
# Caught up yet unsettled for this many polls in a row: those searches are lost.
STABLE_POLLS = 10


@dataclass(frozen=True)
class ChaosConfig:
    """Size, timing and fault rates of one run; probabilities are per call."""

    n: int = 200
    pages: int = 2
    seed: int = 7
    in_flight: int = 160
    partitions: int = 32
    connector_timeout_ms: int = 2000
    retry_backoff_ms: int = 50
    max_retries: int = 6
    sink_deadline_seconds: float = 1.5
    sink_lease_seconds: float = 3.0
    scrape_timeout_seconds: float = 1.0
    model_timeout_seconds: float = 1.0
    doomed_every: int = 50
    with_model: bool = True
    time_limit_seconds: float = 840.0
    workdir: Path | None = None
    proxy_faults: Mapping[str, float] = field(
        default_factory=lambda: {
            "refuse": 0.05, "fail_after": 0.04, "slow": 0.03,
            "drop": 0.04, "lose": 0.04, "kill": 0.01,
        }
    )  # fmt: skip
    page_faults: Mapping[str, float] = field(
        default_factory=lambda: {
            "rate_limited": 0.03, "server_error": 0.03, "slow": 0.03,
            "timeout": 0.01, "malformed": 0.02,
        }
    )  # fmt: skip
    model_faults: Mapping[str, float] = field(
        default_factory=lambda: {
            "rate_limited": 0.03, "server_error": 0.02, "timeout": 0.01,
            "malformed": 0.02,
        }
    )  # fmt: skip
    store_faults: Mapping[str, float] = field(
        default_factory=lambda: {"fail_before": 0.004, "fail_after": 0.004}
    )


@dataclass
class _Flow:
    """Everything running during a fault run."""

    config: ChaosConfig
    settings: Settings
    pages: PageServer
    model: ModelServer
    pool: SinkPool
    proxy: FaultProxy
    emulator: Emulator
    producer_url: str
    tracker: Tracker
    dice: list[Dice]
    pages_url: str


async def run_chaos(config: ChaosConfig) -> ChaosReport:
    """Run the fault run described by `config` and return its figures."""
    with tempfile.TemporaryDirectory(prefix="chaos-", dir=config.workdir) as tmp:
        async with _flow(config, Path(tmp)) as flow:
            return await _measure(flow)


async def _measure(flow: _Flow) -> ChaosReport:
    started = time.monotonic()
    deadline = started + flow.config.time_limit_seconds
    report = ChaosReport(n=flow.config.n)
    drained = await _phase_one(flow, deadline)
    _count_phase_one(flow, report)
    for dice in flow.dice:
        dice.enabled = False
    drained = await _replay(flow, report, deadline) and drained
    report.timed_out = not drained
    _count_final(flow, report)
    report.elapsed_s = time.monotonic() - started
    return report


async def _phase_one(flow: _Flow, deadline: float) -> bool:
    poller = asyncio.create_task(_poll_forever(flow.tracker))
    try:
        async with httpx.AsyncClient(base_url=flow.producer_url) as client:
            await _produce(flow, client, deadline)
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
    return await _drain(flow, deadline)


async def _poll_forever(tracker: Tracker) -> None:
    while True:
        await tracker.poll()
        await asyncio.sleep(POLL_SECONDS)


async def _produce(flow: _Flow, client: httpx.AsyncClient, deadline: float) -> None:
    config, tracker = flow.config, flow.tracker
    for index in range(config.n):
        while len(tracker.unsettled()) >= config.in_flight:
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.02)
        urls = [
            f"{flow.pages_url}{page_path(index, page)}" for page in range(config.pages)
        ]
        body = {"searchQuery": f"chaos engineer {index}", "urls": urls}
        try:
            response = await client.post("/jobs-search", json=body)
        except httpx.HTTPError as exc:
            tracker.rejected[type(exc).__name__] += 1
            continue
        if response.status_code == 202:
            tracker.accept(response.json()["search_id"], time.time())
        else:
            tracker.rejected[str(response.status_code)] += 1


async def _drain(flow: _Flow, deadline: float) -> bool:
    """Wait until the connector caught up and every search settled (or was lost)."""
    stable = 0
    partitions = flow.settings.emulator_partitions
    while time.monotonic() < deadline:
        caught_up = await asyncio.to_thread(flow.tracker.caught_up, partitions)
        await flow.tracker.poll()
        if caught_up and not flow.tracker.unsettled():
            return True
        stable = stable + 1 if caught_up else 0
        if stable >= STABLE_POLLS:
            return True
        await asyncio.sleep(POLL_SECONDS)
    return False


async def _replay(flow: _Flow, report: ChaosReport, deadline: float) -> bool:
    log, names = flow.emulator.log, flow.emulator.names
    assert log is not None
    drained = True
    for _ in range(REPLAY_ROUNDS):
        records = await asyncio.to_thread(log.records, names.error)
        waiting = [record for record in records if not record.replayed]
        if not waiting:
            break
        for record in waiting:
            await asyncio.to_thread(replay_error, log, record)
        report.replayed += len(waiting)
        if flow.emulator.connector is not None:
            flow.emulator.connector.notify()
        drained = await _drain(flow, deadline)
    return drained


def _count_phase_one(flow: _Flow, report: ChaosReport) -> None:
    tracker = flow.tracker
    report.accepted = len(tracker.accepted)
    report.rejected = dict(tracker.rejected)
    waiting = tracker.unfinished() & tracker.errored
    report.in_error_topic = len(waiting)
    report.error_records = tracker.error_records
    report.lost_before_replay = len(tracker.unsettled())
    latencies = [
        tracker.finished[search_id].at - accepted_at
        for search_id, accepted_at in tracker.accepted.items()
        if search_id in tracker.finished
    ]
    report.latency_p50_s = percentile(latencies, 0.50)
    report.latency_p99_s = percentile(latencies, 0.99)
    report.latency_max_s = percentile(latencies, 1.0)
    report.finished_after_replay = -len(tracker.finished)


def _count_final(flow: _Flow, report: ChaosReport) -> None:
    tracker = flow.tracker
    report.finished_after_replay += len(tracker.finished)
    report.lost_after_replay = len(tracker.unfinished())
    statuses = Counter(
        finish.status
        for search_id, finish in tracker.finished.items()
        if search_id in tracker.accepted
    )
    report.completed, report.failed = statuses["completed"], statuses["failed"]
    report.failure_reasons = dict(
        Counter(
            finish.reason or "?"
            for finish in tracker.finished.values()
            if finish.status == "failed"
        )
    )
    report.store = store_figures(flow.settings.sqlite_path)
    report.paid_page_fetches = PaidCalls.of(flow.pages.paid)
    if flow.config.with_model:
        report.paid_model_calls = PaidCalls.of(flow.model.paid)
    report.faults = _fault_counts(flow)
    proxy = flow.proxy
    report.delivery = {
        "requests": proxy.requests,
        "redeliveries": proxy.redeliveries,
        "moved": proxy.moved,
        **{f"sink_{status}": count for status, count in proxy.statuses.items()},
    }


def _fault_counts(flow: _Flow) -> dict[str, dict[str, int]]:
    names = ("proxy", "pages", "model", "store")
    counts = {
        name: dict(dice.counts) for name, dice in zip(names, flow.dice, strict=True)
    }
    counts["sinks"] = {
        "killed": flow.pool.kills,
        "restart_failures": flow.pool.restart_failures,
    }
    return counts


def _settings(config: ChaosConfig, tmp: Path, token: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp / 'jobs.sqlite3'}",
        emulator_database_url=f"sqlite:///{tmp / 'emulator.sqlite3'}",
        confluent_rest_url=None,
        confluent_cluster_id=None,
        confluent_api_key=None,
        confluent_api_secret=None,
        sink_bearer_token=SecretStr(token),
        sink_deadline_seconds=config.sink_deadline_seconds,
        sink_lease_seconds=config.sink_lease_seconds,
        sink_retry_after_seconds=1,
        scrape_allow_private=True,
        scrape_timeout_seconds=config.scrape_timeout_seconds,
        emulator_partitions=config.partitions,
    )


def _connector(
    config: ChaosConfig, settings: Settings, url: str, token: str
) -> dict[str, str]:
    rendered = render_connector(CONNECTOR_FILE, connector_env(settings, url, token))
    return {
        **rendered,
        "tasks.max": str(config.partitions),
        "http.request.timeout.ms": str(config.connector_timeout_ms),
        "retry.backoff.ms": str(config.retry_backoff_ms),
        "max.retries": str(config.max_retries),
    }


def _doomed(every: int) -> Callable[[Mapping[str, object]], bool]:
    """Every `every`-th search, told by the index its query ends with."""

    def doomed(record: Mapping[str, object]) -> bool:
        _, _, index = str(record.get("query", "")).rpartition(" ")
        return index.isdigit() and int(index) % every == 0

    return doomed


@contextlib.asynccontextmanager
async def _flow(config: ChaosConfig, tmp: Path) -> AsyncIterator[_Flow]:
    token = secrets.token_urlsafe(24)
    settings = _settings(config, tmp, token)
    dice = [
        Dice(weights, seed=config.seed + offset)
        for offset, weights in enumerate(
            (config.proxy_faults, config.page_faults, config.model_faults,
             config.store_faults)
        )
    ]  # fmt: skip
    slow = config.connector_timeout_ms / 1000 + 0.5
    pages = PageServer(dice[1], slow_seconds=0.3, hang_seconds=slow)
    model = ModelServer(dice[2], hang_seconds=config.model_timeout_seconds + 0.3)
    async with contextlib.AsyncExitStack() as stack:
        page_server = await stack.enter_async_context(BackgroundServer(pages.app))
        model_server = await stack.enter_async_context(BackgroundServer(model.app))
        enrichers = await stack.enter_async_context(
            _enrichers(config, model_server.url)
        )
        pool = SinkPool(
            lambda index: create_sink(
                settings,
                enricher=enrichers[index],
                store=FaultyStore(open_store(settings), dice[3]),
            ),
            size=2,
            rng=dice[0].rng,
        )
        stack.push_async_callback(pool.stop)
        await pool.start()
        proxy = FaultProxy(
            pool, dice[0], slow_seconds=slow, doomed=_doomed(config.doomed_every)
        )
        stack.push_async_callback(proxy.stop)
        await proxy.start()
        emulator = Emulator(
            settings,
            _connector(config, settings, proxy.url, token),
            port=0,
            database=tmp / "emulator.sqlite3",
            poll_seconds=0.05,
        )
        await stack.enter_async_context(emulator)
        producer_settings = settings.model_copy(
            update={"confluent_rest_url": emulator.url}
        )
        producer = await stack.enter_async_context(
            BackgroundServer(create_producer(producer_settings))
        )
        assert emulator.log is not None
        tracker = Tracker(
            settings.sqlite_path,
            emulator.log,
            emulator.names,
            settings.kafka_topic_job_search,
        )
        stack.callback(tracker.close)
        yield _Flow(
            config, settings, pages, model, pool, proxy, emulator,
            producer.url, tracker, dice, page_server.url,
        )  # fmt: skip


@contextlib.asynccontextmanager
async def _enrichers(
    config: ChaosConfig, model_url: str
) -> AsyncIterator[list[Enricher | None]]:
    if not config.with_model:
        yield [None, None]
        return
    openai = OpenAIConfig(
        api_key=SecretStr("chaos-model-key"),
        base_url=f"{model_url}/v1",
        timeout_seconds=config.model_timeout_seconds,
        retry_budget_seconds=0.2,
        max_rate_limit_retries=1,
    )
    clients = [build_openai_client(openai) for _ in range(2)]
    try:
        yield [OpenAIEnricher(client, openai) for client in clients]
    finally:
        for client in clients:
            await client.close()
