"""The figures of a fault run, the invariants they must meet, and how they print."""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

_DUPLICATES = (
    "SELECT COUNT(*) FROM (SELECT 1 FROM jobs GROUP BY user_id, source_id "
    "HAVING COUNT(*) > 1)"
)
# Every generated page holds one posting, so a page marked done owes one row.
_MISSING_ROWS = """
SELECT COALESCE(SUM(d.done - COALESCE(j.stored, 0)), 0)
FROM (SELECT search_id, COUNT(*) AS done FROM search_pages WHERE state = 'done'
      GROUP BY search_id) AS d
LEFT JOIN (SELECT search_id, COUNT(*) AS stored FROM jobs GROUP BY search_id) AS j
  ON j.search_id = d.search_id
WHERE d.done > COALESCE(j.stored, 0)
"""
_UNEXPLAINED_FAILURES = (
    "SELECT COUNT(*) FROM job_searches WHERE status = 'failed' "
    "AND (failure_reason IS NULL OR failure_reason = '')"
)


@dataclass(frozen=True)
class StoreFigures:
    """What the shared store holds at the end of the run."""

    rows: int
    duplicate_rows: int
    rows_missing: int
    failed_without_reason: int
    deliveries: int


def store_figures(path: Path) -> StoreFigures:
    """Count rows, duplicates and unexplained failures in the SQLite store."""
    db = sqlite3.connect(path, timeout=10)
    try:
        one = [
            int(db.execute(sql).fetchone()[0] or 0)
            for sql in (
                "SELECT COUNT(*) FROM jobs",
                _DUPLICATES,
                _MISSING_ROWS,
                _UNEXPLAINED_FAILURES,
                "SELECT SUM(deliveries) FROM job_searches",
            )
        ]
    finally:
        db.close()
    return StoreFigures(*one)


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return round(ordered[rank - 1], 3)


@dataclass(frozen=True)
class PaidCalls:
    """Answers an upstream did the work for, per URL or per posting."""

    total: int
    max_per_key: int
    keys_over_one: int

    @classmethod
    def of(cls, counts: Counter[str]) -> PaidCalls:
        """Summarise a counter of paid answers by key."""
        over = sum(1 for count in counts.values() if count > 1)
        return cls(sum(counts.values()), max(counts.values(), default=0), over)


@dataclass
class ChaosReport:
    """Every figure of one fault run."""

    n: int
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    completed: int = 0
    failed: int = 0
    failure_reasons: dict[str, int] = field(default_factory=dict)
    in_error_topic: int = 0
    error_records: int = 0
    lost_before_replay: int = 0
    replayed: int = 0
    finished_after_replay: int = 0
    lost_after_replay: int = 0
    store: StoreFigures | None = None
    paid_page_fetches: PaidCalls | None = None
    paid_model_calls: PaidCalls | None = None
    latency_p50_s: float | None = None
    latency_p99_s: float | None = None
    latency_max_s: float | None = None
    faults: dict[str, dict[str, int]] = field(default_factory=dict)
    delivery: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    timed_out: bool = False

    def violations(self) -> list[str]:
        """Each invariant the run broke, in words; empty when all held."""
        broken = []
        if self.timed_out:
            broken.append("the run did not finish within its time limit")
        if self.accepted != self.n:
            broken.append(f"producer accepted {self.accepted} of {self.n}")
        if self.lost_before_replay:
            broken.append(f"{self.lost_before_replay} searches lost before replay")
        if self.lost_after_replay:
            broken.append(f"{self.lost_after_replay} searches lost after replay")
        if self.store and self.store.duplicate_rows:
            broken.append(f"{self.store.duplicate_rows} duplicate rows")
        if self.store and self.store.rows_missing:
            broken.append(f"{self.store.rows_missing} done pages without their row")
        if self.store and self.store.failed_without_reason:
            broken.append(f"{self.store.failed_without_reason} failures unexplained")
        return broken + self._unexplained_repeats()

    def _unexplained_repeats(self) -> list[str]:
        """Paid twice without a lost answer to explain it (docs/chaos.md).

        A repeat is expected only after an answer never reached a sink able to save
        it: the instance was killed mid-call, or a page answered after the fetcher
        had given up.
        """
        killed = self.faults.get("sinks", {}).get("killed", 0)
        pages = self.faults.get("pages", {})
        late = pages.get("timeout", 0) + pages.get("slow", 0)
        broken = []
        for name, paid, allowed in (
            ("page", self.paid_page_fetches, killed + late),
            ("model", self.paid_model_calls, killed),
        ):
            if paid and paid.keys_over_one > allowed:
                broken.append(
                    f"{paid.keys_over_one} {name} keys paid more than once "
                    f"(max {paid.max_per_key}; {allowed} lost answers explain)"
                )
        return broken

    def to_json(self) -> str:
        """The report as indented JSON, with its violations."""
        return json.dumps({**asdict(self), "violations": self.violations()}, indent=2)

    def write(self, path: Path) -> None:
        """Write the JSON report to `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    def print(self, console: Console) -> None:
        """Print the figures as a table, then the faults and any violation."""
        table = Table("figure", "value", title=f"fault run, N={self.n}")
        for name, value in self._rows():
            table.add_row(name, str(value))
        console.print(table)
        faults = Table("injector", "fault", "count", title="faults injected")
        for injector, counts in self.faults.items():
            for fault, count in sorted(counts.items()):
                faults.add_row(injector, fault, str(count))
        console.print(faults)
        for line in self.violations() or ["all invariants held"]:
            console.print(line, markup=False)

    def _rows(self) -> list[tuple[str, object]]:
        store = self.store
        pages, model = self.paid_page_fetches, self.paid_model_calls
        return [
            ("searches accepted (202)", self.accepted),
            ("searches completed", self.completed),
            ("searches failed with a reason", self.failed),
            ("searches in the error topic (replayable)", self.in_error_topic),
            ("searches lost before replay", self.lost_before_replay),
            ("error records replayed", self.replayed),
            ("searches finished after replay", self.finished_after_replay),
            ("searches lost after replay", self.lost_after_replay),
            ("job rows", store.rows if store else "-"),
            ("duplicate rows", store.duplicate_rows if store else "-"),
            ("done pages without a row", store.rows_missing if store else "-"),
            ("paid page fetches / max per URL", _paid(pages)),
            ("paid model calls / max per posting", _paid(model)),
            ("p50 / p99 / max 202 to finish (s)", self._latency()),
            ("deliveries to the proxy", self.delivery.get("requests", 0)),
            ("redeliveries on the other instance", self.delivery.get("moved", 0)),
            ("elapsed (s)", round(self.elapsed_s, 1)),
        ]

    def _latency(self) -> str:
        parts = (self.latency_p50_s, self.latency_p99_s, self.latency_max_s)
        return " / ".join("-" if value is None else f"{value:.2f}" for value in parts)


def _paid(paid: PaidCalls | None) -> str:
    return "-" if paid is None else f"{paid.total} / {paid.max_per_key}"
