"""`python -m bench`: every figure of issue 8 beside its baseline, in one run."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import cost, fakes
from bench.procs import ROOT, App, load
from jobsearch.emulator import EventLog, NewRecord
from jobsearch.message import SearchMessage

SEARCH = json.dumps(
    {"searchQuery": "python developer", "urls": ["https://example.com/job/1"]}
)
TOPIC = "job-search-requests"
RESULTS = ROOT / "bench" / "results.json"
WARMUP, DURATION = 1.0, 4.0


def _env(work: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{work / 'jobs.sqlite3'}",
        "EMULATOR_DATABASE_URL": f"sqlite:///{work / 'emulator.sqlite3'}",
        "LOG_LEVEL": "WARNING",
        # Admission control would cap the load itself; the bench measures past it.
        "ADMISSION_GLOBAL_PER_SECOND": "1000000",
        "ADMISSION_EXEMPT_ADDRESSES": "127.0.0.1",
        **extra,
    }


def _drive(app: App, concurrency: int, body: str = SEARCH) -> dict[str, Any]:
    return load(
        f"{app.url}/jobs-search",
        body,
        concurrency=concurrency,
        warmup=WARMUP,
        duration=DURATION,
    )


def producer_overhead(work: Path) -> dict[str, Any]:
    """Item 1: producer_app against the bare forwarder, same mock and load."""
    rest = App("rest-mock", work, {})
    try:
        runs: dict[str, Any] = {}
        for kind, env in (
            ("bare-accept", {}),
            ("bare-forwarder", {"BENCH_UPSTREAM": f"{rest.url}/records"}),
            ("producer", _env(work / "p1", CONFLUENT_REST_URL=rest.url)),
        ):
            (work / "p1").mkdir(exist_ok=True)
            app = App(kind, work, env)
            try:
                runs[kind] = _drive(app, 32)
                runs[kind]["peak_rss_mb"] = app.peak_rss_mb()
            finally:
                app.stop()
    finally:
        rest.stop()
    bare, mine = runs["bare-forwarder"], runs["producer"]
    return {
        "runs": runs,
        "throughput_ratio": mine["rps"] / bare["rps"],
        "added_p50_ms": mine["p50_ms"] - bare["p50_ms"],
        "added_p99_ms": mine["p99_ms"] - bare["p99_ms"],
        "target": "ratio >= 0.8 and added p99 <= 2 ms",
    }


def past_rest_cap(work: Path) -> dict[str, Any]:
    """Item 2: stream mode against one request per search, emulator in limit mode."""
    runs: dict[str, Any] = {}
    for mode in ("request", "stream"):
        folder = work / f"cap-{mode}"
        folder.mkdir()
        emulator = App("emulator", folder, _env(folder, EMULATOR_LIMIT_MODE="true"))
        env = _env(folder, CONFLUENT_REST_URL=emulator.url, BENCH_PRODUCE_MODE=mode)
        producer = App("producer", folder, env)
        try:
            run = _drive(producer, 128)
            run["peak_rss_mb"] = producer.peak_rss_mb()
            run["emulator_peak_rss_mb"] = emulator.peak_rss_mb()
        finally:
            producer.stop()
            emulator.stop()
        outcomes = run["outcomes"]
        run["accepted_per_s"] = outcomes.get("202", 0) / run["duration_s"]
        run["client_429s"] = sum(
            n for key, n in outcomes.items() if "rate_limited" in key or key == "429"
        )
        runs[mode] = run
    return {
        "runs": runs,
        "accepted_ratio_stream_vs_request": runs["stream"]["accepted_per_s"]
        / max(runs["request"]["accepted_per_s"], 1e-9),
        "target": "stream >= 900 accepted/s with no client-visible 429",
    }


def _delivery(search_id: uuid.UUID) -> bytes:
    message = SearchMessage(
        search_id=search_id,
        query="backend engineer",
        requested_at=datetime.now(UTC),
        trace_id=uuid.uuid4().hex,
    )
    return json.dumps(message.to_record_value()).encode()


def _sink_run(work: Path, pages: App, fetch: int, enrich: int) -> dict[str, Any]:
    folder = work / f"sink-{fetch}-{enrich}"
    folder.mkdir()
    env = _env(
        folder,
        BENCH_PAGES_URL=pages.url,
        SCRAPE_ALLOW_PRIVATE="true",
        SINK_FETCH_CONCURRENCY=str(fetch),
        SINK_ENRICH_CONCURRENCY=str(enrich),
        SINK_DEADLINE_SECONDS="120",
    )
    sink = App("sink", folder, env)
    try:
        with httpx.Client(base_url=sink.url, timeout=180) as client:
            started = time.monotonic()
            answer = client.post(
                "/process-job-search",
                content=_delivery(uuid.uuid4()),
                headers={"Content-Type": "application/json"},
            )
            wall = time.monotonic() - started
        return {
            "wall_s": wall,
            "status": answer.status_code,
            "answer": answer.json(),
            "fetch_concurrency": fetch,
            "enrich_concurrency": enrich,
            "peak_rss_mb": sink.peak_rss_mb(),
        }
    finally:
        sink.stop()


def sink_critical_path(work: Path) -> dict[str, Any]:
    """Item 3: sink wall time over its critical path, beside a sequential sink."""
    pages = App("pages", work, {})
    try:
        concurrent = _sink_run(work, pages, 8, 8)
        sequential = _sink_run(work, pages, 1, 1)
    finally:
        pages.stop()
    critical = fakes.critical_path()
    return {
        "critical_path_s": critical,
        "concurrent": concurrent,
        "sequential": sequential,
        "wall_over_critical": concurrent["wall_s"] / critical,
        "sequential_over_critical": sequential["wall_s"] / critical,
        "speedup_vs_sequential": sequential["wall_s"] / concurrent["wall_s"],
        "target": "wall / critical path <= 1.15",
    }


def _prefill(path: Path, count: int) -> None:
    log = EventLog(path)
    for _ in range(count):
        body = _delivery(uuid.uuid4())
        log.append(
            TOPIC, NewRecord(key=None, value=body, key_type=None, value_type="JSON")
        )
    log.close()


def emulator_delivery(work: Path, records: int = 5000) -> dict[str, Any]:
    """Item 5: emulator delivery rate to a trivial sink against the sink's capacity."""
    folder = work / "delivery"
    folder.mkdir()
    probe = App("trivial-sink", folder, {})
    try:
        capacity = {c: _drive(probe, c, "{}") for c in (3, 32)}
        capacity_rss = probe.peak_rss_mb()
    finally:
        probe.stop()
    _prefill(folder / "emulator.sqlite3", records)
    sink = App("trivial-sink", folder, {})
    env = _env(
        folder,
        BENCH_CONNECTOR=str(ROOT / "connector" / "http-sink.json"),
        KAFKA_TOPIC_JOB_SEARCH=TOPIC,
        SINK_WEBHOOK_URL=f"{sink.url}/process",
        CONFLUENT_API_KEY="local",
        CONFLUENT_API_SECRET="local",  # noqa: S106 - the emulator default
        SINK_CONNECTOR_TOKEN="bench",  # noqa: S106 - a loopback stand-in
    )
    try:
        emulator = App("emulator", folder, env)
        try:
            stats = _wait_delivered(sink.url, records)
            emulator_rss = emulator.peak_rss_mb()
        finally:
            emulator.stop()
    finally:
        sink.stop()
    rate = (stats["count"] - 1) / max(stats["last"] - stats["first"], 1e-9)
    return {
        "records": stats["count"],
        "emulator_rate_per_s": rate,
        "sink_capacity": capacity,
        "ratio_vs_capacity_concurrency_3": rate / capacity[3]["rps"],
        "ratio_vs_capacity_concurrency_32": rate / capacity[32]["rps"],
        "emulator_peak_rss_mb": emulator_rss,
        "trivial_sink_peak_rss_mb": capacity_rss,
        "target": "delivery / capacity >= 0.7 (the connector has tasks.max=3)",
    }


def _wait_delivered(url: str, want: int) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = httpx.get(f"{url}/stats").json()
        if stats["count"] >= want:
            break
        time.sleep(0.1)
    return stats


def _table(results: dict[str, Any]) -> str:
    one, two, three = (
        results["producer_overhead"],
        results["past_rest_cap"],
        results["sink"],
    )
    five = results["emulator"]
    runs1, runs2 = one["runs"], two["runs"]
    stream, request = runs2["stream"], runs2["request"]
    rows = [
        (
            "1 producer / bare forwarder rps",
            f"{one['throughput_ratio']:.2f}",
            f"{runs1['producer']['rps']:.0f} / {runs1['bare-forwarder']['rps']:.0f} "
            f"(bare 202: {runs1['bare-accept']['rps']:.0f})",
            ">= 0.8",
        ),
        (
            "1 added p50 / p99 ms",
            f"{one['added_p99_ms']:.1f}",
            f"{one['added_p50_ms']:.1f} / {one['added_p99_ms']:.1f}",
            "p99 <= 2",
        ),
        (
            "2 accepted/s stream vs request",
            f"{two['accepted_ratio_stream_vs_request']:.1f}x",
            f"{stream['accepted_per_s']:.0f} vs {request['accepted_per_s']:.0f}; "
            f"429s {stream['client_429s']} vs {request['client_429s']}",
            ">= 900, 0 429s",
        ),
        (
            "3 sink wall / critical path",
            f"{three['wall_over_critical']:.2f}",
            f"{three['concurrent']['wall_s']:.2f} s / {three['critical_path_s']:.2f} s "
            f"(sequential {three['sequential']['wall_s']:.1f} s)",
            "<= 1.15",
        ),
    ]
    for item in results["cost"]:
        rows.append(
            (
                f"4 calls/posting {Path(item['folder']).name}",
                f"{item['calls_per_posting']:.2f}",
                f"{item['postings']} postings, "
                f"~{item['input_tokens_per_posting_est']:.0f} input tokens; "
                f"complete {item['complete_postings']} -> "
                f"{item['calls_for_complete_postings']} calls",
                "0 for complete",
            )
        )
    rows += [
        (
            "5 emulator / sink capacity (c=3)",
            f"{five['ratio_vs_capacity_concurrency_3']:.2f}",
            f"{five['emulator_rate_per_s']:.0f} / "
            f"{five['sink_capacity'][3]['rps']:.0f} rps",
            ">= 0.7",
        ),
        (
            "5 peak RSS MB producer / sink",
            f"{runs2['stream']['peak_rss_mb']:.0f} / "
            f"{three['concurrent']['peak_rss_mb']:.0f}",
            f"emulator {five['emulator_peak_rss_mb']:.0f}",
            "<= 120",
        ),
    ]
    width = [max(len(str(r[i])) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(str(cell).ljust(width[i]) for i, cell in enumerate(row))
        for row in rows
    )


def _cost(work: Path) -> list[dict[str, Any]]:
    del work  # reads example pages only
    return cost.measure(
        [ROOT / "examples" / "pages", ROOT.parent / "shared" / "data" / "real"]
    )


ITEMS: dict[str, Callable[[Path], Any]] = {
    "producer_overhead": producer_overhead,
    "past_rest_cap": past_rest_cap,
    "sink": sink_critical_path,
    "cost": _cost,
    "emulator": emulator_delivery,
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        choices=sorted(ITEMS),
        action="append",
        help="run only this item (repeatable); prints its JSON, keeps results.json",
    )
    return parser.parse_args()


def main() -> None:
    """Run every measurement, write bench/results.json, print the table."""
    only = _arguments().only
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jobsearch-bench-") as tmp:
        work = Path(tmp)
        results: dict[str, Any] = {
            name: measure(work)
            for name, measure in ITEMS.items()
            if not only or name in only
        }
    results["elapsed_s"] = time.monotonic() - started
    if only:
        print(json.dumps(results, indent=2))
        return
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(_table(results))
    print(f"wrote {RESULTS} in {results['elapsed_s']:.0f} s")


if __name__ == "__main__":
    main()
