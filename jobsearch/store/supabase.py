"""The production store: Supabase through PostgREST, with the same contract as SQLite.

Rows are written with plain upserts on their unique keys (`Prefer: return=minimal`).
The lease and the final status go through SQL functions that
`supabase/migrations/*_job_search.sql` defines: a function call is one transaction,
so the lease is atomic across any number of sink instances, and its clock is the
database's, not each instance's. The client is built once, on one httpx client with
explicit timeouts; PostgREST's own GET retries are off so a slow store shows up as a
503 within the sink's deadline rather than as sleeps inside it.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

import httpx
from postgrest import APIError
from postgrest.types import ReturnMethod
from pydantic import SecretStr
from supabase import (
    AsyncClient,
    AsyncClientOptions,
    AsyncSupabaseException,
    acreate_client,
)

from jobsearch.errors import StoreError
from jobsearch.logs import log_fields
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
from jobsearch.store.postgrest_errors import (
    api_store_error,
    is_duplicate,
    transport_store_error,
)

logger = logging.getLogger("jobsearch.store.supabase")

SOURCE_TYPE = "web_search"
JOB_CONFLICT = "user_id,source_id"
JOB_COLUMNS = (
    "id,user_id,source_type,source_id,title,company,company_logo,description,"
    "location,remote_type,employment_type,experience_level,salary_min,salary_max,"
    "salary_currency,salary_period,tags,apply_url,posted_at,expires_at,status,"
    "raw_data,search_id,trace_id,created_at,updated_at"
)
PAGE_COLUMNS = "url,state,reason,postings,content,attempts"
CONNECT_TIMEOUT = 5.0
_OUTCOMES = frozenset({"acquired", "busy", "finished"})


class _Request(Protocol):
    def execute(self) -> Awaitable[Any]: ...


def job_row(
    posting: Posting,
    *,
    user_id: uuid.UUID,
    search_id: uuid.UUID,
    trace_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The `jobs` upsert body: fixed columns, JSON types PostgREST casts exactly.

    `id`, `created_at` and `status` are left out, so an update keeps the row's own
    values and an insert takes the column defaults; `tags` is a JSON array (text[])
    and `raw_data` a JSON object (jsonb).
    """
    fields = posting.model_dump(mode="json", exclude={"raw_data"})
    raw_data = json.loads(json.dumps(posting.raw_data, default=str))
    return {
        **fields,
        "user_id": str(user_id),
        "source_type": SOURCE_TYPE,
        "raw_data": raw_data,
        "search_id": str(search_id),
        "trace_id": trace_id,
        "updated_at": to_iso(now),
    }


def page_row(
    search_id: uuid.UUID, progress: PageProgress, now: datetime
) -> dict[str, Any]:
    """The `search_pages` upsert body."""
    return {
        "search_id": str(search_id),
        "url": progress.url,
        "state": progress.state,
        "reason": progress.reason,
        "postings": [p.model_dump(mode="json") for p in progress.postings],
        "content": progress.content,
        "attempts": progress.attempts,
        "updated_at": to_iso(now),
    }


class SupabaseStore:
    """`Store` on a Supabase project, written with the service-role key."""

    def __init__(
        self,
        url: str,
        service_role_key: SecretStr,
        *,
        timeout_seconds: float = 10.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = url
        self._key = service_role_key
        self._timeout = httpx.Timeout(
            timeout_seconds, connect=min(timeout_seconds, CONNECT_TIMEOUT)
        )
        self._http = http_client
        self._owns_http = http_client is None
        self._client: AsyncClient | None = None

    @property
    def client(self) -> AsyncClient:
        """The Supabase client; raises `StoreError` before `open()`."""
        if self._client is None:
            raise StoreError("the store is not open")
        return self._client

    async def open(self) -> None:
        """Build the client on the shared httpx client; sends no request."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout)
        options = AsyncClientOptions(
            httpx_client=self._http,
            auto_refresh_token=False,
            persist_session=False,
            postgrest_client_retry=False,
        )
        try:
            self._client = await acreate_client(
                self._url, self._key.get_secret_value(), options=options
            )
        except AsyncSupabaseException as exc:
            raise StoreError("SUPABASE_URL or the key is malformed") from exc

    async def close(self) -> None:
        """Close the httpx client when this store created it."""
        if self._http is not None and self._owns_http:
            await self._http.aclose()
            self._http = None
        self._client = None

    async def ping(self) -> None:
        """Read at most one search row."""
        query = self.client.table("job_searches").select("search_id").limit(1)
        await self._read(query, "job_searches")

    async def record_queued(self, message: SearchMessage, user_id: uuid.UUID) -> None:
        """Insert the search as queued unless it is already known."""
        await self.record_queued_many([(message, user_id)])

    async def record_queued_many(
        self, searches: Sequence[tuple[SearchMessage, uuid.UUID]]
    ) -> None:
        """Insert each search as queued unless known, in one request."""
        rows = [
            {
                "search_id": str(message.search_id),
                "user_id": str(user_id),
                "query": message.query,
                "filters": search_filters(message),
                "status": "queued",
                "trace_id": message.trace_id,
            }
            for message, user_id in searches
        ]
        query = self.client.table("job_searches").upsert(
            rows[0] if len(rows) == 1 else rows,
            on_conflict="search_id",
            ignore_duplicates=True,
            returning=ReturnMethod.minimal,
        )
        await self._write(query, "job_searches")

    async def claim(
        self,
        message: SearchMessage,
        user_id: uuid.UUID,
        owner: str,
        lease_seconds: float,
    ) -> Claim:
        """Take the lease when free, expired or already ours (one function call)."""
        params = {
            "p_search_id": str(message.search_id),
            "p_user_id": str(user_id),
            "p_query": message.query,
            "p_filters": search_filters(message),
            "p_trace_id": message.trace_id,
            "p_owner": owner,
            "p_lease_seconds": lease_seconds,
        }
        data = await self._read(self.client.rpc("claim_job_search", params), "claim")
        if not isinstance(data, dict) or data.get("outcome") not in _OUTCOMES:
            raise StoreError("claim_job_search answered an unexpected shape")
        return Claim(
            data["outcome"], data["status"], from_iso(data["lease_expires_at"])
        )

    async def release(self, search_id: uuid.UUID, owner: str) -> None:
        """Drop our lease, keeping the search in progress."""
        params = {"p_search_id": str(search_id), "p_owner": owner}
        await self._read(self.client.rpc("release_job_search", params), "release")

    async def pages(self, search_id: uuid.UUID) -> dict[str, PageProgress]:
        """Every page row of the search, in the order they were first saved."""
        query = (
            self.client.table("search_pages")
            .select(PAGE_COLUMNS)
            .eq("search_id", str(search_id))
            .order("seq")
        )
        rows = await self._read(query, "search_pages")
        return {row["url"]: _page_from_row(row) for row in rows}

    async def save_page(self, search_id: uuid.UUID, progress: PageProgress) -> None:
        """Upsert one page row on (search_id, url)."""
        query = self.client.table("search_pages").upsert(
            page_row(search_id, progress, utcnow()),
            on_conflict="search_id,url",
            returning=ReturnMethod.minimal,
        )
        await self._write(query, "search_pages")

    async def stored_source_ids(self, search_id: uuid.UUID) -> set[str]:
        """Source ids this search wrote."""
        query = (
            self.client.table("jobs")
            .select("source_id")
            .eq("search_id", str(search_id))
        )
        rows = await self._read(query, "jobs")
        return {row["source_id"] for row in rows}

    async def upsert_job(
        self,
        posting: Posting,
        *,
        user_id: uuid.UUID,
        search_id: uuid.UUID,
        trace_id: str | None,
    ) -> None:
        """Insert or update on (user_id, source_id); a duplicate is already stored."""
        row = job_row(
            posting,
            user_id=user_id,
            search_id=search_id,
            trace_id=trace_id,
            now=utcnow(),
        )
        query = self.client.table("jobs").upsert(
            row, on_conflict=JOB_CONFLICT, returning=ReturnMethod.minimal
        )
        await self._write(query, "jobs")

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
        params = {
            "p_search_id": str(search_id),
            "p_owner": owner,
            "p_status": status,
            "p_errors": errors,
            "p_failure_reason": failure_reason,
        }
        await self._read(self.client.rpc("finish_job_search", params), "finish")

    async def summary(
        self, search_id: uuid.UUID, *, with_jobs: bool = True
    ) -> SearchSummary | None:
        """Read one search with live counts."""
        params = {"p_search_id": str(search_id)}
        row = await self._read(self.client.rpc("job_search_summary", params), "summary")
        if not row:
            return None
        jobs = await self._jobs_of(search_id) if with_jobs else []
        return summary_from_row(row, errors=row["errors"] or [], jobs=jobs)

    async def _jobs_of(self, search_id: uuid.UUID) -> list[dict[str, Any]]:
        query = (
            self.client.table("jobs")
            .select(JOB_COLUMNS)
            .eq("search_id", str(search_id))
            .order("created_at")
        )
        return list(await self._read(query, "jobs"))

    async def user_sources(self, user_id: uuid.UUID) -> list[str] | None:
        """The user's own job-board list (`job_source_settings`), if the app has one.

        Projects without that table (it belongs to the original app) get None.
        """
        query = (
            self.client.table("job_source_settings")
            .select("enabled_default_sources")
            .eq("user_id", str(user_id))
            .limit(1)
        )
        try:
            response = await query.execute()
        except APIError as exc:
            if exc.code in ("PGRST205", "42P01"):
                return None
            raise api_store_error(exc, "job_source_settings") from exc
        except httpx.HTTPError as exc:
            raise transport_store_error(exc, "job_source_settings") from exc
        rows: list[Any] = list(response.data or [])
        first = rows[0] if rows and isinstance(rows[0], dict) else {}
        sources = first.get("enabled_default_sources")
        if not isinstance(sources, list):
            return None
        return [str(source) for source in sources]

    async def _read(self, request: _Request, target: str) -> Any:
        return await self._send(request, target, duplicate_ok=False)

    async def _write(self, request: _Request, target: str) -> None:
        await self._send(request, target, duplicate_ok=True)

    async def _send(self, request: _Request, target: str, *, duplicate_ok: bool) -> Any:
        try:
            response = await request.execute()
        except APIError as exc:
            if duplicate_ok and is_duplicate(exc):
                # A redelivery raced an earlier write of the same row: it is stored.
                logger.debug("row already stored", extra=log_fields(target=target))
                return None
            raise api_store_error(exc, target) from exc
        except httpx.HTTPError as exc:
            raise transport_store_error(exc, target) from exc
        return response.data


def _page_from_row(row: dict[str, Any]) -> PageProgress:
    return PageProgress(
        url=row["url"],
        state=row["state"],
        reason=row["reason"],
        postings=[Posting.model_validate(item) for item in row["postings"] or []],
        content=row["content"],
        attempts=row.get("attempts") or 0,
    )
