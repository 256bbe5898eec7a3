"""The `Store` contract, run against every store implementation.

SQLite runs on a temporary file. Supabase runs through its real client: its PostgREST
requests are answered by `postgrest_standin`, which executes them on the migrated
PostgreSQL of `conftest.py`, as the service role.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobsearch.message import SearchMessage
from jobsearch.posting import Posting
from jobsearch.store import PageProgress, Store
from jobsearch.store.sqlite import SQLiteStore

USER = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
OTHER_USER = uuid.UUID("bbbbbbbb-0000-4000-8000-000000000002")
POSTED = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)


def _message(**changes: object) -> SearchMessage:
    values: dict[str, object] = {
        "search_id": uuid.uuid4(),
        "query": "python developer",
        "location": "Berlin",
        "limit": 10,
        "urls": ["https://jobs.example.test/p/1"],
        "requested_at": datetime(2026, 1, 15, 10, 0, tzinfo=UTC),
        "trace_id": "trace-1",
    }
    values.update(changes)
    return SearchMessage.model_validate(values)


def _posting(source_id: str, title: str = "Python Developer") -> Posting:
    return Posting(
        source_id=source_id,
        title=title,
        company="Example GmbH",
        location="Berlin, DE",
        remote_type="Remote",
        salary_min=70000,
        salary_max=90000,
        salary_currency="EUR",
        salary_period="year",
        tags=["python", "postgres"],
        apply_url=source_id,
        posted_at=POSTED,
        raw_data={"extractor": "json-ld"},
    )


async def _sqlite_store(tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    return SQLiteStore(tmp_path / "store.sqlite3")


async def _supabase_store(tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    make_store: Callable[[], Store] = request.getfixturevalue("standin_store")
    return make_store()


FACTORIES = {"sqlite": _sqlite_store, "supabase": _supabase_store}


@pytest.fixture(params=sorted(FACTORIES))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open store of each implementation."""
    instance = await FACTORIES[request.param](tmp_path, request)
    await instance.open()
    try:
        yield instance
    finally:
        await instance.close()


async def test_store_ping_open_store_answers(store: Store) -> None:
    """An open store answers a ping."""
    await store.ping()


async def test_store_claim_new_search_acquired(store: Store) -> None:
    """The first claim records the search and takes a lease in the future."""
    message = _message()
    before = datetime.now(UTC)

    claim = await store.claim(message, USER, "sink-1", 30.0)

    assert (claim.outcome, claim.status) == ("acquired", "processing")
    assert claim.lease_expires_at is not None
    assert claim.lease_expires_at > before + timedelta(seconds=20)
    summary = await store.summary(message.search_id)
    assert summary is not None
    assert (summary.status, summary.user_id, summary.query) == (
        "processing",
        USER,
        "python developer",
    )


@pytest.mark.parametrize(
    ("second_owner", "first_lease", "outcome"),
    [
        ("sink-2", 30.0, "busy"),
        ("sink-1", 30.0, "acquired"),
        ("sink-2", -1.0, "acquired"),
    ],
    ids=["held-by-other-busy", "own-lease-renewed", "expired-lease-taken"],
)
async def test_store_claim_second_delivery_outcome(
    store: Store, second_owner: str, first_lease: float, outcome: str
) -> None:
    """A held lease is busy for others, renewable by its owner, free once expired."""
    message = _message()
    await store.claim(message, USER, "sink-1", first_lease)

    claim = await store.claim(message, USER, second_owner, 30.0)

    assert (claim.outcome, claim.status) == (outcome, "processing")


async def test_store_claim_busy_reports_lease_expiry(store: Store) -> None:
    """A busy answer says when the holder's lease runs out."""
    message = _message()
    first = await store.claim(message, USER, "sink-1", 30.0)

    busy = await store.claim(message, USER, "sink-2", 30.0)

    assert busy.lease_expires_at is not None
    assert first.lease_expires_at is not None
    assert abs(busy.lease_expires_at - first.lease_expires_at) < timedelta(seconds=1)


async def test_store_release_lets_next_delivery_acquire(store: Store) -> None:
    """After a release another owner takes the lease at once."""
    message = _message()
    await store.claim(message, USER, "sink-1", 30.0)

    await store.release(message.search_id, "sink-1")

    claim = await store.claim(message, USER, "sink-2", 30.0)
    assert claim.outcome == "acquired"


async def test_store_release_by_other_owner_keeps_lease(store: Store) -> None:
    """Releasing someone else's lease changes nothing."""
    message = _message()
    await store.claim(message, USER, "sink-1", 30.0)

    await store.release(message.search_id, "sink-2")

    claim = await store.claim(message, USER, "sink-3", 30.0)
    assert claim.outcome == "busy"


@pytest.mark.parametrize("status", ["completed", "failed"])
async def test_store_claim_finished_search_finished(store: Store, status: str) -> None:
    """Once finished, every later claim answers finished with the final status."""
    message = _message()
    await store.claim(message, USER, "sink-1", 30.0)
    await store.finish(message.search_id, "sink-1", status=status, errors=[])  # type: ignore[arg-type]

    claim = await store.claim(message, USER, "sink-2", 30.0)

    assert (claim.outcome, claim.status) == ("finished", status)


async def test_store_finish_by_non_holder_ignored(store: Store) -> None:
    """Only the lease holder can finish the search."""
    message = _message()
    await store.claim(message, USER, "sink-1", 30.0)

    await store.finish(message.search_id, "sink-2", status="failed", errors=[])

    summary = await store.summary(message.search_id)
    assert summary is not None
    assert (summary.status, summary.completed_at) == ("processing", None)


async def test_store_record_queued_twice_then_claim(store: Store) -> None:
    """A queued search is recorded once and then claimed normally."""
    message = _message()
    await store.record_queued(message, USER)
    await store.record_queued(message, USER)

    queued = await store.summary(message.search_id)
    claim = await store.claim(message, USER, "sink-1", 30.0)

    assert queued is not None
    assert queued.status == "queued"
    assert queued.trace_id == "trace-1"
    assert claim.outcome == "acquired"


async def test_store_pages_round_trip_in_first_saved_order(store: Store) -> None:
    """Pages come back as saved, in the order first saved, replaced by later saves."""
    message = _message()
    await store.claim(message, USER, "sink-1", 30.0)
    first = PageProgress("https://jobs.example.test/p/2", "found", content="<html>")
    second = PageProgress(
        "https://jobs.example.test/p/1", "failed", reason="http_404", attempts=2
    )
    extracted = PageProgress(
        first.url, "extracted", postings=[_posting("https://jobs.example.test/p/2#a")]
    )

    for page in (first, second, extracted):
        await store.save_page(message.search_id, page)
    pages = await store.pages(message.search_id)

    assert list(pages) == [first.url, second.url]
    assert pages[first.url] == extracted
    assert pages[second.url] == second


async def test_store_pages_unknown_search_empty(store: Store) -> None:
    """A search without pages has none."""
    assert await store.pages(uuid.uuid4()) == {}


async def test_store_upsert_same_posting_twice_one_row(store: Store) -> None:
    """A posting found again by the user's next search stays one row, updated."""
    first, second = _message(), _message()
    posting = _posting("https://jobs.example.test/p/1")
    for message, title in ((first, "Python Developer"), (second, "Senior Python Dev")):
        await store.claim(message, USER, "sink-1", 30.0)
        for _ in range(2):
            await store.upsert_job(
                posting.model_copy(update={"title": title}),
                user_id=USER,
                search_id=message.search_id,
                trace_id="trace-1",
            )

    assert await store.stored_source_ids(first.search_id) == set()
    assert await store.stored_source_ids(second.search_id) == {posting.source_id}
    summary = await store.summary(second.search_id)
    assert summary is not None
    assert [job["title"] for job in summary.jobs] == ["Senior Python Dev"]


async def test_store_upsert_other_user_gets_own_row(store: Store) -> None:
    """Two users who find the same posting each get their own row."""
    mine, theirs = _message(), _message()
    posting = _posting("https://jobs.example.test/p/1")
    for message, user in ((mine, USER), (theirs, OTHER_USER)):
        await store.claim(message, user, "sink-1", 30.0)
        await store.upsert_job(
            posting, user_id=user, search_id=message.search_id, trace_id=None
        )

    assert await store.stored_source_ids(mine.search_id) == {posting.source_id}
    assert await store.stored_source_ids(theirs.search_id) == {posting.source_id}


async def test_store_summary_live_counts_and_jobs(store: Store) -> None:
    """The summary counts jobs and pages live and lists the jobs with their fields."""
    message = _message()
    await store.claim(message, USER, "sink-1", 30.0)
    await store.save_page(message.search_id, PageProgress("https://a.test/1", "done"))
    await store.save_page(
        message.search_id, PageProgress("https://a.test/2", "failed", reason="timeout")
    )
    await store.upsert_job(
        _posting("https://a.test/1"),
        user_id=USER,
        search_id=message.search_id,
        trace_id="trace-1",
    )

    live = await store.summary(message.search_id)
    await store.finish(
        message.search_id,
        "sink-1",
        status="completed",
        errors=[{"url": "https://a.test/2", "reason": "timeout"}],
    )
    final = await store.summary(message.search_id, with_jobs=False)

    assert live is not None
    assert final is not None
    assert (live.jobs_found, live.pages_total, live.pages_failed) == (1, 2, 1)
    job = live.jobs[0]
    assert (job["tags"], job["raw_data"], job["status"]) == (
        ["python", "postgres"],
        {"extractor": "json-ld"},
        "active",
    )
    assert (job["user_id"], job["search_id"]) == (str(USER), str(message.search_id))
    assert datetime.fromisoformat(job["posted_at"]) == POSTED
    assert (final.status, final.jobs, final.failure_reason) == ("completed", [], None)
    assert final.errors == [{"url": "https://a.test/2", "reason": "timeout"}]
    assert final.completed_at is not None


async def test_store_summary_failed_search_keeps_reason(store: Store) -> None:
    """A failed search reports its reason and no jobs."""
    message = _message()
    await store.claim(message, USER, "sink-1", 30.0)

    await store.finish(
        message.search_id,
        "sink-1",
        status="failed",
        errors=[],
        failure_reason="no page yielded a job",
    )

    summary = await store.summary(message.search_id)
    assert summary is not None
    assert (summary.status, summary.failure_reason, summary.jobs_found) == (
        "failed",
        "no page yielded a job",
        0,
    )


async def test_store_summary_unknown_search_none(store: Store) -> None:
    """An unknown search id has no summary."""
    assert await store.summary(uuid.uuid4()) is None
