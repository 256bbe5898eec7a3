"""The durable record log: topics, partitions, offsets and commits in SQLite.

WAL mode lets another process (`jobsearch errors replay`) append while the emulator
runs. Every write is one `BEGIN IMMEDIATE` transaction, so a record written to a
report topic and the offset commit it justifies land together or not at all.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time
from base64 import b64decode, b64encode
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from jobsearch.emulator.partitioner import partition_for_key
from jobsearch.errors import StoreError

Headers = tuple[tuple[str, bytes], ...]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL, key BLOB, value BLOB, key_type TEXT,
    value_type TEXT, headers TEXT NOT NULL, replayed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, partition, "offset"));
CREATE TABLE IF NOT EXISTS commits (
    group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL, PRIMARY KEY (group_id, topic, partition));
"""
_SELECT_PARTITION = (
    'SELECT topic, partition, "offset", timestamp_ms, key, value, key_type, value_type,'
    ' headers, replayed FROM records WHERE topic=? AND partition=? AND "offset">=?'
    ' ORDER BY "offset" LIMIT ?'
)
_SELECT_TOPIC = (
    'SELECT topic, partition, "offset", timestamp_ms, key, value, key_type, value_type,'
    ' headers, replayed FROM records WHERE topic=? ORDER BY partition, "offset"'
)
_INSERT = (
    'INSERT INTO records (topic, partition, "offset", timestamp_ms, key, value,'
    " key_type, value_type, headers, replayed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
)


@dataclass(frozen=True)
class NewRecord:
    """A record to append; `partition=None` lets the partitioner choose."""

    key: bytes | None
    value: bytes | None
    headers: Headers = ()
    timestamp_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    key_type: str | None = None
    value_type: str | None = None
    partition: int | None = None


@dataclass(frozen=True)
class Record:
    """A stored record with its coordinates."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    key_type: str | None = None
    value_type: str | None = None
    replayed: bool = False

    def header(self, name: str) -> str | None:
        """The first header of that name, decoded as UTF-8."""
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None


# A delivered (or reported) source record and the report records it justifies.
Settled = tuple[Record, Sequence[tuple[str, NewRecord]]]


class EventLog:
    """The log in one SQLite file, safe to share between threads and processes."""

    def __init__(self, path: Path, *, partitions: int = 3) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.default_partitions = partitions
        self._lock = threading.Lock()
        self._round_robin = itertools.count()
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the emulator log {path}") from exc

    def close(self) -> None:
        """Close the file; later calls fail."""
        with self._lock:
            self._db.close()

    def ensure_topic(self, topic: str, partitions: int | None = None) -> int:
        """Create the topic when new; its partition count never changes afterwards."""
        with self._transaction() as db:
            return self._partitions(db, topic, partitions)

    def append(self, topic: str, record: NewRecord) -> Record:
        """Append one record and return it with its partition and offset."""
        with self._transaction() as db:
            return self._append_all(db, [(topic, record)])[0]

    def commit(
        self,
        group: str,
        source: Record,
        reports: Sequence[tuple[str, NewRecord]] = (),
    ) -> None:
        """Append the report records, then move `group` past `source`, atomically."""
        self.commit_many(group, [(source, reports)])

    def commit_many(self, group: str, outcomes: Sequence[Settled]) -> None:
        """Commit several outcomes, in order, in one transaction.

        Each outcome is a source record and its report records; `group` ends past
        the highest source offset of each partition, never behind where it was.
        """
        with self._transaction() as db:
            self._append_all(db, [item for _, items in outcomes for item in items])
            positions: dict[tuple[str, int], int] = {}
            for source, _ in outcomes:
                where = (source.topic, source.partition)
                positions[where] = max(positions.get(where, 0), source.offset + 1)
            db.executemany(
                "INSERT INTO commits VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE "
                "SET next_offset = max(next_offset, excluded.next_offset)",
                [(group, *where, offset) for where, offset in positions.items()],
            )

    def committed(self, group: str, topic: str, partition: int) -> int:
        """The next offset `group` will read, 0 when it never committed."""
        row = self._query_one(
            "SELECT next_offset FROM commits WHERE group_id=? AND topic=? "
            "AND partition=?",
            (group, topic, partition),
        )
        return int(str(row[0])) if row else 0

    def read(self, topic: str, partition: int, offset: int, limit: int) -> list[Record]:
        """Up to `limit` records of one partition from `offset` on."""
        return self._select(
            _SELECT_PARTITION,
            (topic, partition, offset, limit),
        )

    def get(self, topic: str, partition: int, offset: int) -> Record | None:
        """One record by its coordinates."""
        found = self.read(topic, partition, offset, 1)
        return found[0] if found and found[0].offset == offset else None

    def records(self, topic: str) -> list[Record]:
        """Every record of a topic, by partition then offset."""
        return self._select(
            _SELECT_TOPIC,
            (topic,),
        )

    def mark_replayed(self, topic: str, partition: int, offset: int) -> None:
        """Flag a record (of an error topic) as replayed."""
        with self._transaction() as db:
            db.execute(
                "UPDATE records SET replayed=1 WHERE topic=? AND partition=? "
                'AND "offset"=?',
                (topic, partition, offset),
            )

    def _partitions(
        self, db: sqlite3.Connection, topic: str, wanted: int | None
    ) -> int:
        row = db.execute(
            "SELECT partitions FROM topics WHERE name=?", (topic,)
        ).fetchone()
        if row:
            return int(row[0])
        count = wanted or self.default_partitions
        db.execute("INSERT INTO topics VALUES (?, ?)", (topic, count))
        return count

    def _append_all(
        self, db: sqlite3.Connection, items: Sequence[tuple[str, NewRecord]]
    ) -> list[Record]:
        counts: dict[str, int] = {}
        offsets: dict[tuple[str, int], int] = {}
        appended = []
        for topic, new in items:
            if topic not in counts:
                counts[topic] = self._partitions(db, topic, None)
            where = (topic, self._choose_partition(new, counts[topic]))
            if where not in offsets:
                offsets[where] = self._next_offset(db, *where)
            appended.append(_stored(where, offsets[where], new))
            offsets[where] += 1
        db.executemany(_INSERT, [_row(record) for record in appended])
        return appended

    def _choose_partition(self, new: NewRecord, partitions: int) -> int:
        if new.partition is not None:
            return new.partition
        if new.key is not None:
            return partition_for_key(new.key, partitions)
        return next(self._round_robin) % partitions

    def _next_offset(self, db: sqlite3.Connection, topic: str, partition: int) -> int:
        row = db.execute(
            'SELECT coalesce(max("offset") + 1, 0) FROM records WHERE topic=? '
            "AND partition=?",
            (topic, partition),
        ).fetchone()
        return int(row[0])

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"emulator log {self.path} failed") from exc

    def _query_one(
        self, sql: str, params: tuple[object, ...]
    ) -> tuple[object, ...] | None:
        with self._lock:
            try:
                row: tuple[object, ...] | None = self._db.execute(
                    sql, params
                ).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"emulator log {self.path} failed") from exc
        return row

    def _select(self, sql: str, params: tuple[object, ...]) -> list[Record]:
        with self._lock:
            try:
                rows = self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"emulator log {self.path} failed") from exc
        return [_to_record(row) for row in rows]


def _stored(where: tuple[str, int], offset: int, new: NewRecord) -> Record:
    return Record(
        where[0], where[1], offset, new.timestamp_ms, new.key, new.value,
        new.headers, new.key_type, new.value_type,
    )  # fmt: skip


def _row(record: Record) -> tuple[object, ...]:
    return (
        record.topic, record.partition, record.offset, record.timestamp_ms,
        record.key, record.value, record.key_type, record.value_type,
        _encode_headers(record.headers),
    )  # fmt: skip


def _encode_headers(headers: Headers) -> str:
    return json.dumps(
        [[name, b64encode(value).decode("ascii")] for name, value in headers]
    )


def _to_record(row: tuple[object, ...]) -> Record:
    topic, partition, offset, stamp, key, value, key_type, value_type, raw, flag = row
    headers = tuple((str(name), b64decode(data)) for name, data in json.loads(str(raw)))
    return Record(
        str(topic), int(str(partition)), int(str(offset)), int(str(stamp)),
        bytes(key) if isinstance(key, bytes) else None,
        bytes(value) if isinstance(value, bytes) else None,
        headers,
        str(key_type) if key_type is not None else None,
        str(value_type) if value_type is not None else None,
        bool(flag),
    )  # fmt: skip
