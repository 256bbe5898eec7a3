"""Group commits: outcomes written in order, in few transactions, kept on close."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from emulator_support import wait_for

from jobsearch.emulator import EventLog, NewRecord, Record
from jobsearch.emulator.commits import Committer
from jobsearch.emulator.log import Settled
from jobsearch.errors import StoreError

TOPIC = "job-search-requests"
GROUP = "connect-test"
REPORTS = "success-test"


class CountingLog(EventLog):
    """An event log that counts its group-commit transactions and can fail them."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.transactions = 0
        self.broken = False

    def commit_many(self, group: str, outcomes: Sequence[Settled]) -> None:
        """Count the transaction, or fail it when broken."""
        self.transactions += 1
        if self.broken:
            raise StoreError("emulator log failed")
        super().commit_many(group, outcomes)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[CountingLog]:
    """A log with the input topic in three partitions and a one-partition report."""
    value = CountingLog(tmp_path / "emulator.sqlite3")
    value.ensure_topic(TOPIC, 3)
    value.ensure_topic(REPORTS, 1)
    try:
        yield value
    finally:
        value.close()


def _fill(log: EventLog, partition: int, count: int) -> list[Record]:
    new = NewRecord(key=None, value=b"{}", partition=partition)
    return [log.append(TOPIC, new) for _ in range(count)]


def _report(source: Record) -> list[tuple[str, NewRecord]]:
    body = f"{source.partition}@{source.offset}".encode()
    return [(REPORTS, NewRecord(key=None, value=body))]


def test_commit_many_moves_each_partition_past_its_last_source(
    log: CountingLog,
) -> None:
    """One transaction appends every report in order and commits per partition."""
    zero, two = _fill(log, 0, 3), _fill(log, 2, 2)
    outcomes = [(record, _report(record)) for record in [*zero, *two]]

    log.commit_many(GROUP, outcomes)

    positions = [log.committed(GROUP, TOPIC, p) for p in range(3)]
    assert positions == [3, 0, 2]
    reports = log.records(REPORTS)
    assert [r.value for r in reports] == [b"0@0", b"0@1", b"0@2", b"2@0", b"2@1"]
    assert [r.offset for r in reports] == [0, 1, 2, 3, 4]


def test_commit_many_older_source_never_moves_offset_back(log: CountingLog) -> None:
    """A commit behind the committed position leaves the position where it was."""
    records = _fill(log, 1, 5)
    log.commit(GROUP, records[4])

    log.commit_many(GROUP, [(records[1], [])])

    assert log.committed(GROUP, TOPIC, 1) == 5


async def test_committer_queued_outcomes_written_together_on_close(
    log: CountingLog,
) -> None:
    """Fifty queued outcomes reach the file in one transaction when closing."""
    committer = Committer(log, GROUP)
    records = _fill(log, 0, 50)

    for record in records:
        await committer.commit(record, _report(record))
    await committer.close()

    assert log.transactions == 1
    assert log.committed(GROUP, TOPIC, 0) == 50
    assert len(log.records(REPORTS)) == 50


async def test_committer_full_queue_waits_then_writes_everything(
    log: CountingLog,
) -> None:
    """With room for one pending outcome, every outcome is still written in order."""
    committer = Committer(log, GROUP, max_pending=1)
    records = _fill(log, 0, 5)

    for record in records:
        await committer.commit(record, _report(record))
    await committer.close()

    assert log.committed(GROUP, TOPIC, 0) == 5
    assert [r.value for r in log.records(REPORTS)] == [
        f"0@{n}".encode() for n in range(5)
    ]


async def test_committer_failed_write_refuses_later_outcomes(
    log: CountingLog,
) -> None:
    """After a failed write nothing is committed and the next outcome raises."""
    committer = Committer(log, GROUP)
    records = _fill(log, 0, 2)
    log.broken = True
    await committer.commit(records[0], [])
    await wait_for(lambda: committer.failure is not None)

    with pytest.raises(StoreError):
        await committer.commit(records[1], [])

    await committer.close()
    assert log.committed(GROUP, TOPIC, 0) == 0


async def test_committer_reopened_after_close_writes_again(log: CountingLog) -> None:
    """A connector restarted after stop commits through the same committer."""
    committer = Committer(log, GROUP)
    records = _fill(log, 0, 2)
    await committer.commit(records[0], [])
    await committer.close()

    await committer.commit(records[1], [])
    await committer.close()

    assert log.committed(GROUP, TOPIC, 0) == 2
