"""The CI-sized fault run: 50 searches through the whole flow under every fault."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from jobsearch.chaos import ChaosConfig, ChaosReport, run_chaos
from jobsearch.chaos.faults import Dice
from jobsearch.chaos.report import percentile

pytestmark = pytest.mark.slow

SMALL = ChaosConfig(
    n=50,
    in_flight=24,
    partitions=8,
    doomed_every=10,
    time_limit_seconds=50.0,
    proxy_faults={
        "refuse": 0.05, "fail_after": 0.05, "slow": 0.03,
        "drop": 0.05, "lose": 0.05, "kill": 0.05,
    },
)  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> ChaosReport:
    """One small fault run shared by every test of this module."""
    workdir: Path = tmp_path_factory.mktemp("chaos")
    return asyncio.run(run_chaos(dataclasses.replace(SMALL, workdir=workdir)))


def test_chaos_small_run_finishes_in_time(report: ChaosReport) -> None:
    """Both phases end before the time limit and every search is accepted."""
    assert not report.timed_out
    assert report.accepted == report.n == 50
    assert report.rejected == {}


def test_chaos_small_faults_injected_everywhere(report: ChaosReport) -> None:
    """The proxy, the pages, the model and the store all failed, a sink was killed."""
    for injector in ("proxy", "pages", "model", "store"):
        assert sum(report.faults[injector].values()) > 0, injector
    assert report.faults["sinks"]["killed"] >= 1
    assert report.delivery["moved"] >= 1


def test_chaos_small_nothing_lost_before_replay(report: ChaosReport) -> None:
    """Each search finished in the store or waits, replayable, in the error topic."""
    assert report.lost_before_replay == 0
    assert report.in_error_topic >= 1


def test_chaos_small_replay_finishes_the_rest(report: ChaosReport) -> None:
    """Replaying the error topic without faults finishes every remaining search."""
    assert report.replayed >= report.in_error_topic
    assert report.finished_after_replay >= report.in_error_topic
    assert report.lost_after_replay == 0
    assert report.completed + report.failed == report.n


def test_chaos_small_rows_exactly_once(report: ChaosReport) -> None:
    """No duplicate row, no finished page without its row, no unexplained failure."""
    assert report.store is not None
    assert report.store.duplicate_rows == 0
    assert report.store.rows_missing == 0
    assert report.store.failed_without_reason == 0
    assert report.store.rows > 0


def test_chaos_small_latency_measured(report: ChaosReport) -> None:
    """p50 and p99 from 202 to finish are reported and ordered."""
    assert report.latency_p50_s is not None
    assert report.latency_p99_s is not None
    assert 0 < report.latency_p50_s <= report.latency_p99_s


def test_chaos_small_paid_calls_repeat_only_after_a_lost_answer(
    report: ChaosReport,
) -> None:
    """Paid work is saved before anything can discard it.

    A page or model answer is paid twice only when its answer never reached a sink
    that could save it: the instance was killed mid-call, or the page answered
    after the fetcher had given up on it. Store faults, deadlines and failing
    siblings cost nothing twice.
    """
    pages, model = report.paid_page_fetches, report.paid_model_calls
    assert pages is not None
    assert model is not None
    killed = report.faults["sinks"]["killed"]
    late_pages = report.faults["pages"].get("timeout", 0) + report.faults["pages"].get(
        "slow", 0
    )
    assert pages.max_per_key <= 2
    assert model.max_per_key <= 2
    assert pages.keys_over_one <= killed + late_pages
    assert model.keys_over_one <= killed


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [([], 0.5, None), ([3.0, 1.0, 2.0], 0.5, 2.0), ([1.0, 2.0], 0.99, 2.0)],
)
def test_percentile_nearest_rank_returns_member(
    values: list[float], share: float, expected: float | None
) -> None:
    """The nearest-rank percentile is one of the values, None for none."""
    assert percentile(values, share) == expected


def test_dice_disabled_rolls_nothing() -> None:
    """A certain fault always fires until the dice are switched off."""
    dice = Dice({"boom": 1.0}, seed=1)
    assert [dice.roll() for _ in range(3)] == ["boom"] * 3
    dice.enabled = False
    assert dice.roll() is None
    assert dice.counts == {"boom": 3}
