"""Follow each accepted search to its end: finished in the store, or in the error topic.

A search is *settled* once the store says completed or failed, or once the connector
gave up on it and wrote an error record that was not replayed yet. The connector has
*caught up* when its committed offset is the end of every partition; a search still
unsettled then was accepted and lost.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jobsearch.emulator.log import EventLog
from jobsearch.emulator.reports import TopicNames

_FINISHED = (
    "SELECT search_id, status, completed_at, failure_reason FROM job_searches "
    "WHERE status IN ('completed', 'failed') AND completed_at >= ?"
)
# Finishes are read incrementally; re-reading a short overlap tolerates clock steps.
_OVERLAP_SECONDS = 5.0


@dataclass(frozen=True)
class Finish:
    """How and when a search finished."""

    status: str
    at: float
    reason: str | None


class Tracker:
    """Accepted searches, their finishes and their error records."""

    def __init__(
        self, store: Path, log: EventLog, names: TopicNames, topic: str
    ) -> None:
        self.accepted: dict[str, float] = {}
        self.finished: dict[str, Finish] = {}
        self.errored: set[str] = set()
        self.error_records = 0
        self.rejected: Counter[str] = Counter()
        self._log = log
        self._names = names
        self._topic = topic
        self._db = sqlite3.connect(store, check_same_thread=False, timeout=10)
        self._since = ""

    def close(self) -> None:
        """Close the store connection."""
        self._db.close()

    def accept(self, search_id: str, at: float) -> None:
        """Note a 202 for `search_id` at wall-clock time `at`."""
        self.accepted[search_id] = at

    def unsettled(self) -> set[str]:
        """Accepted searches neither finished nor waiting in the error topic."""
        return set(self.accepted) - self.finished.keys() - self.errored

    def unfinished(self) -> set[str]:
        """Accepted searches the store does not show as finished."""
        return set(self.accepted) - self.finished.keys()

    async def poll(self) -> None:
        """Read new finishes from the store and the error topic's open records."""
        rows = await asyncio.to_thread(self._finished_rows)
        for search_id, status, completed_at, reason in rows:
            at = datetime.fromisoformat(completed_at).timestamp()
            self.finished.setdefault(search_id, Finish(status, at, reason))
            self._since = max(self._since, _earlier(completed_at))
        records = await asyncio.to_thread(self._log.records, self._names.error)
        self.error_records = len(records)
        self.errored = {
            record.key.decode()
            for record in records
            if record.key and not record.replayed
        }

    def caught_up(self, partitions: int) -> bool:
        """True when the connector has an outcome for every record of the topic."""
        group = self._names.group
        for partition in range(partitions):
            position = self._log.committed(group, self._topic, partition)
            if self._log.read(self._topic, partition, position, 1):
                return False
        return True

    def _finished_rows(self) -> list[tuple[str, str, str, str | None]]:
        cursor = self._db.execute(_FINISHED, (self._since,))
        return [(str(a), str(b), str(c), d) for a, b, c, d in cursor.fetchall()]


def _earlier(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp).timestamp() - _OVERLAP_SECONDS
    return datetime.fromtimestamp(
        moment, datetime.fromisoformat(stamp).tzinfo
    ).isoformat()
