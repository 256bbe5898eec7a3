"""The store's interface: searches, per-page progress and job rows.

The sink writes through it and the producer's status route reads through it. Every
write is idempotent, so a redelivered record can repeat any step without a duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from jobsearch.message import SearchMessage
from jobsearch.posting import Posting

SearchState = Literal["queued", "processing", "completed", "failed"]
PageState = Literal["found", "extracted", "done", "failed"]
ClaimOutcome = Literal["acquired", "busy", "finished"]


@dataclass(frozen=True)
class Claim:
    """The answer to "may this delivery work on the search now?"."""

    outcome: ClaimOutcome
    status: SearchState
    lease_expires_at: datetime | None = None


@dataclass(frozen=True)
class PageProgress:
    """What is already known about one page of a search."""

    url: str
    state: PageState
    reason: str | None = None
    postings: list[Posting] = field(default_factory=list)
    content: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class SearchSummary:
    """A search as the frontend and the CLI see it."""

    search_id: uuid.UUID
    user_id: uuid.UUID
    query: str
    status: SearchState
    jobs_found: int
    pages_total: int
    pages_failed: int
    errors: list[dict[str, str]]
    failure_reason: str | None
    trace_id: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    jobs: list[dict[str, Any]] = field(default_factory=list)


def utcnow() -> datetime:
    """Now, in UTC: every timestamp a store writes."""
    return datetime.now(UTC)


def to_iso(value: datetime | None) -> str | None:
    """A timestamp as stored: ISO 8601 in UTC, or None."""
    return value.astimezone(UTC).isoformat() if value else None


def from_iso(value: str | None) -> datetime | None:
    """A stored timestamp back as a datetime, or None."""
    return datetime.fromisoformat(value) if value else None


class StoredRow(Protocol):
    """A row read back from a store, whose columns are looked up by name."""

    def __getitem__(self, key: str, /) -> Any: ...


def summary_from_row(
    row: StoredRow, *, errors: list[dict[str, str]], jobs: list[dict[str, Any]]
) -> SearchSummary:
    """A `SearchSummary` from a search row carrying its live counts.

    `errors` comes already decoded, as each store keeps that column its own way.
    """
    return SearchSummary(
        search_id=uuid.UUID(row["search_id"]),
        user_id=uuid.UUID(row["user_id"]),
        query=row["query"],
        status=row["status"],
        jobs_found=row["live_jobs"],
        pages_total=row["live_pages"],
        pages_failed=row["live_failed"],
        errors=errors,
        failure_reason=row["failure_reason"],
        trace_id=row["trace_id"],
        created_at=from_iso(row["created_at"]) or utcnow(),
        updated_at=from_iso(row["updated_at"]) or utcnow(),
        completed_at=from_iso(row["completed_at"]),
        jobs=jobs,
    )


def search_filters(message: SearchMessage) -> dict[str, Any]:
    """The filters recorded with a search."""
    return {
        "location": message.location,
        "remote": message.remote,
        "limit": message.limit,
        "urls": [str(url) for url in message.urls],
        "tbs": message.tbs,
    }


class Store(Protocol):
    """Where searches and jobs live; SQLite locally, Supabase in production."""

    async def open(self) -> None:
        """Connect and create what is missing."""

    async def close(self) -> None:
        """Release connections."""

    async def ping(self) -> None:
        """Raise `StoreError` when the store does not answer."""

    async def record_queued(self, message: SearchMessage, user_id: uuid.UUID) -> None:
        """Note an accepted search before the sink sees it; no-op when it exists."""

    async def record_queued_many(
        self, searches: Sequence[tuple[SearchMessage, uuid.UUID]]
    ) -> None:
        """`record_queued` for many searches in one write."""

    async def claim(
        self,
        message: SearchMessage,
        user_id: uuid.UUID,
        owner: str,
        lease_seconds: float,
    ) -> Claim:
        """Take the search's lease, or say who has it or that it is finished."""

    async def release(self, search_id: uuid.UUID, owner: str) -> None:
        """Give the lease back so the next delivery resumes at once."""

    async def pages(self, search_id: uuid.UUID) -> dict[str, PageProgress]:
        """Progress of every page the search knows about."""

    async def save_page(self, search_id: uuid.UUID, progress: PageProgress) -> None:
        """Record a page's progress, replacing the earlier record."""

    async def stored_source_ids(self, search_id: uuid.UUID) -> set[str]:
        """Source ids of the jobs this search has already written."""

    async def upsert_job(
        self,
        posting: Posting,
        *,
        user_id: uuid.UUID,
        search_id: uuid.UUID,
        trace_id: str | None,
    ) -> None:
        """Insert the posting or update the user's existing row for it."""

    async def finish(
        self,
        search_id: uuid.UUID,
        owner: str,
        *,
        status: Literal["completed", "failed"],
        errors: list[dict[str, str]],
        failure_reason: str | None = None,
    ) -> None:
        """Mark the search finished and drop the lease."""

    async def summary(
        self, search_id: uuid.UUID, *, with_jobs: bool = True
    ) -> SearchSummary | None:
        """The search's status, counts and jobs, or None when unknown."""
