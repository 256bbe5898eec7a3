"""The embedded store: one SQLite file in WAL mode, shared by every local process.

Several sink instances may share the file; SQLite serialises writers, and the lease
update below is one statement, so only one delivery at a time works on a search.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from jobsearch.errors import StoreError
from jobsearch.message import SearchMessage
from jobsearch.posting import Posting
from jobsearch.store.base import (
    Claim,
    PageProgress,
    SearchSummary,
    from_iso,
    search_filters,
    summary_from_row,
    to_iso,
    utcnow,
)

SOURCE_TYPE = "web_search"
_JOB_COLUMNS = (
    "id, user_id, source_type, source_id, title, company, company_logo, description, "
    "location, remote_type, employment_type, experience_level, salary_min, salary_max, "
    "salary_currency, salary_period, tags, apply_url, posted_at, expires_at, status, "
    "raw_data, search_id, trace_id, created_at, updated_at"
)
# A fixed column list; every value is bound.
_UPSERT_JOB = f"""
INSERT INTO jobs ({_JOB_COLUMNS})
VALUES ({", ".join("?" * 26)})
ON CONFLICT (user_id, source_id) DO UPDATE SET
    title = excluded.title, company = excluded.company,
    company_logo = excluded.company_logo, description = excluded.description,
    location = excluded.location, remote_type = excluded.remote_type,
    employment_type = excluded.employment_type,
    experience_level = excluded.experience_level,
    salary_min = excluded.salary_min, salary_max = excluded.salary_max,
    salary_currency = excluded.salary_currency, salary_period = excluded.salary_period,
    tags = excluded.tags, apply_url = excluded.apply_url,
    posted_at = excluded.posted_at, expires_at = excluded.expires_at,
    raw_data = excluded.raw_data, search_id = excluded.search_id,
    trace_id = excluded.trace_id, updated_at = excluded.updated_at
"""  # noqa: S608


class SQLiteStore:
    """`Store` on a local SQLite file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: aiosqlite.Connection | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        """The open connection; raises `StoreError` before `open()`."""
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    async def open(self) -> None:
        """Create the file and the schema when missing."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = await aiosqlite.connect(self._path, timeout=10.0)
            self._db.row_factory = aiosqlite.Row
            await self._db.execute("PRAGMA busy_timeout = 10000")
            # In WAL mode NORMAL survives a crash of the process; only a power cut may
            # lose the last commits, and every write here is redone on redelivery.
            await self._db.execute("PRAGMA synchronous = NORMAL")
            await self._db.execute("PRAGMA foreign_keys = ON")
            schema = resources.files("jobsearch.store").joinpath("schema.sql")
            await self._db.executescript(schema.read_text(encoding="utf-8"))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store: {exc}") from exc

    async def close(self) -> None:
        """Close the connection."""
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def ping(self) -> None:
        """Run a trivial query."""
        await self._fetchone("SELECT 1", ())

    async def record_queued(self, message: SearchMessage, user_id: uuid.UUID) -> None:
        """Insert the search as queued unless it is already known."""
        await self.record_queued_many([(message, user_id)])

    async def record_queued_many(
        self, searches: Sequence[tuple[SearchMessage, uuid.UUID]]
    ) -> None:
        """Insert each search as queued unless known, in one transaction."""
        now = to_iso(utcnow())
        rows = [
            _search_row(message, user_id, "queued", now)
            for message, user_id in searches
        ]
        try:
            await self.db.executemany(_INSERT_SEARCH, rows)
            await self.db.commit()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite write failed: {type(exc).__name__}") from exc

    async def claim(
        self,
        message: SearchMessage,
        user_id: uuid.UUID,
        owner: str,
        lease_seconds: float,
    ) -> Claim:
        """Take the lease when free, expired or already ours."""
        await self._insert_search(message, user_id, "processing")
        now = utcnow()
        expires = now + timedelta(seconds=lease_seconds)
        updated = await self._execute(
            """UPDATE job_searches
               SET status = 'processing', lease_owner = ?, lease_expires_at = ?,
                   deliveries = deliveries + 1, updated_at = ?
               WHERE search_id = ? AND status IN ('queued', 'processing')
                 AND (lease_owner IS NULL OR lease_owner = ?
                      OR lease_expires_at < ?)""",
            (
                owner,
                to_iso(expires),
                to_iso(now),
                str(message.search_id),
                owner,
                to_iso(now),
            ),
        )
        if updated:
            return Claim("acquired", "processing", expires)
        row = await self._fetchone(
            "SELECT status, lease_expires_at FROM job_searches WHERE search_id = ?",
            (str(message.search_id),),
        )
        if row is None:
            raise StoreError("the search vanished while being claimed")
        if row["status"] in ("completed", "failed"):
            return Claim("finished", row["status"])
        return Claim("busy", row["status"], from_iso(row["lease_expires_at"]))

    async def release(self, search_id: uuid.UUID, owner: str) -> None:
        """Drop our lease, keeping the search in progress."""
        await self._execute(
            """UPDATE job_searches SET lease_owner = NULL, lease_expires_at = NULL,
               updated_at = ? WHERE search_id = ? AND lease_owner = ?""",
            (to_iso(utcnow()), str(search_id), owner),
        )

    async def pages(self, search_id: uuid.UUID) -> dict[str, PageProgress]:
        """Every page row of the search."""
        rows = await self._fetchall(
            "SELECT url, state, reason, postings, content, attempts FROM search_pages "
            "WHERE search_id = ? ORDER BY rowid",
            (str(search_id),),
        )
        return {row["url"]: _page_from_row(row) for row in rows}

    async def save_page(self, search_id: uuid.UUID, progress: PageProgress) -> None:
        """Upsert one page row."""
        postings = json.dumps([p.model_dump(mode="json") for p in progress.postings])
        await self._execute(
            """INSERT INTO search_pages
                   (search_id, url, state, reason, postings, content, attempts,
                    updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (search_id, url) DO UPDATE SET state = excluded.state,
                   reason = excluded.reason, postings = excluded.postings,
                   content = excluded.content, attempts = excluded.attempts,
                   updated_at = excluded.updated_at""",
            (
                str(search_id),
                progress.url,
                progress.state,
                progress.reason,
                postings,
                progress.content,
                progress.attempts,
                to_iso(utcnow()),
            ),
        )

    async def stored_source_ids(self, search_id: uuid.UUID) -> set[str]:
        """Source ids this search wrote."""
        rows = await self._fetchall(
            "SELECT source_id FROM jobs WHERE search_id = ?", (str(search_id),)
        )
        return {row["source_id"] for row in rows}

    async def upsert_job(
        self,
        posting: Posting,
        *,
        user_id: uuid.UUID,
        search_id: uuid.UUID,
        trace_id: str | None,
    ) -> None:
        """Insert or update on (user_id, source_id)."""
        now = to_iso(utcnow())
        values = (
            str(uuid.uuid4()),
            str(user_id),
            SOURCE_TYPE,
            posting.source_id,
            posting.title,
            posting.company,
            posting.company_logo,
            posting.description,
            posting.location,
            posting.remote_type,
            posting.employment_type,
            posting.experience_level,
            posting.salary_min,
            posting.salary_max,
            posting.salary_currency,
            posting.salary_period,
            json.dumps(posting.tags),
            posting.apply_url,
            to_iso(posting.posted_at),
            to_iso(posting.expires_at),
            "active",
            json.dumps(posting.raw_data, default=str),
            str(search_id),
            trace_id,
            now,
            now,
        )
        await self._execute(_UPSERT_JOB, values)

    async def finish(
        self,
        search_id: uuid.UUID,
        owner: str,
        *,
        status: Literal["completed", "failed"],
        errors: list[dict[str, str]],
        failure_reason: str | None = None,
    ) -> None:
        """Store the final status and counts; only the lease holder may."""
        sid = str(search_id)
        now = to_iso(utcnow())
        await self._execute(
            """UPDATE job_searches SET status = ?, errors = ?, failure_reason = ?,
                   jobs_found = (SELECT COUNT(*) FROM jobs WHERE search_id = ?),
                   pages_total = (SELECT COUNT(*) FROM search_pages
                                  WHERE search_id = ?),
                   pages_failed = (SELECT COUNT(*) FROM search_pages
                                   WHERE search_id = ? AND state = 'failed'),
                   lease_owner = NULL, lease_expires_at = NULL,
                   updated_at = ?, completed_at = ?
               WHERE search_id = ? AND lease_owner = ?""",
            (
                status,
                json.dumps(errors),
                failure_reason,
                sid,
                sid,
                sid,
                now,
                now,
                sid,
                owner,
            ),
        )

    async def summary(
        self, search_id: uuid.UUID, *, with_jobs: bool = True
    ) -> SearchSummary | None:
        """Read one search with live counts."""
        sid = str(search_id)
        row = await self._fetchone(
            """SELECT s.*,
                   (SELECT COUNT(*) FROM jobs j
                    WHERE j.search_id = s.search_id) AS live_jobs,
                   (SELECT COUNT(*) FROM search_pages p
                    WHERE p.search_id = s.search_id) AS live_pages,
                   (SELECT COUNT(*) FROM search_pages p
                    WHERE p.search_id = s.search_id
                      AND p.state = 'failed') AS live_failed
               FROM job_searches s WHERE s.search_id = ?""",
            (sid,),
        )
        if row is None:
            return None
        jobs = await self._jobs_of(sid) if with_jobs else []
        return summary_from_row(row, errors=json.loads(row["errors"]), jobs=jobs)

    async def _jobs_of(self, search_id: str) -> list[dict[str, Any]]:
        rows = await self._fetchall(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE search_id = ? ORDER BY created_at",  # noqa: S608 - fixed column list
            (search_id,),
        )
        return [_job_from_row(row) for row in rows]

    async def _insert_search(
        self, message: SearchMessage, user_id: uuid.UUID, status: str
    ) -> None:
        row = _search_row(message, user_id, status, to_iso(utcnow()))
        await self._execute(_INSERT_SEARCH, row)

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> int:
        try:
            cursor = await self.db.execute(sql, params)
            await self.db.commit()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite write failed: {type(exc).__name__}") from exc
        return cursor.rowcount

    async def _fetchone(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    async def _fetchall(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        # One step on the shared connection: a cursor left open between execute and
        # fetch keeps a read snapshot, and SQLite then refuses this connection's next
        # write at once ("database is locked") when another process wrote meanwhile.
        try:
            return list(await self.db.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite read failed: {type(exc).__name__}") from exc


_INSERT_SEARCH = """
INSERT INTO job_searches (search_id, user_id, query, filters, status, trace_id,
    created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (search_id) DO NOTHING
"""


def _search_row(
    message: SearchMessage, user_id: uuid.UUID, status: str, now: str | None
) -> tuple[Any, ...]:
    return (
        str(message.search_id),
        str(user_id),
        message.query,
        json.dumps(search_filters(message)),
        status,
        message.trace_id,
        now,
        now,
    )


def _page_from_row(row: sqlite3.Row) -> PageProgress:
    postings = [Posting.model_validate(item) for item in json.loads(row["postings"])]
    return PageProgress(
        url=row["url"],
        state=row["state"],
        reason=row["reason"],
        postings=postings,
        content=row["content"],
        attempts=row["attempts"],
    )


def _job_from_row(row: sqlite3.Row) -> dict[str, Any]:
    job = dict(row)
    job["tags"] = json.loads(job["tags"])
    job["raw_data"] = json.loads(job["raw_data"])
    return job
