"""The Supabase migration on a real PostgreSQL, fresh and over the original table.

Writes go through the same SQL shape PostgREST builds for the store's requests: the
JSON body the store sends, cast by `json_populate_recordset`, with the store's
conflict target; the lease functions are called with the store's arguments.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg (dev dependency) is missing")

from psycopg import Connection, sql  # noqa: E402 - after the skip above
from psycopg.types.json import Jsonb  # noqa: E402

from jobsearch.posting import Posting  # noqa: E402
from jobsearch.store.supabase import JOB_COLUMNS, JOB_CONFLICT, job_row  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = sorted((REPO / "supabase" / "migrations").glob("*_job_search.sql"))
USER_A = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
USER_B = uuid.UUID("bbbbbbbb-0000-4000-8000-000000000002")
NOW = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)

# The original project's table, from its column list (shared/reference/original.md).
ORIGINAL_JOBS = """
create table public.jobs (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    source_type text not null,
    source_id text,
    title text not null,
    company text not null,
    description text,
    location text,
    remote_type text,
    employment_type text,
    salary_min integer,
    salary_max integer,
    salary_currency text default 'USD',
    experience_level text,
    tags text[],
    apply_url text,
    posted_at timestamptz,
    expires_at timestamptz,
    status text default 'active',
    notes text,
    rating integer check (rating >= 1 and rating <= 5),
    bookmarked boolean default false,
    raw_data jsonb,
    company_logo text,
    created_at timestamptz default now(),
    updated_at timestamptz default now()
);
create unique index idx_jobs_user_source on public.jobs (user_id, source_id);
alter table public.jobs enable row level security;
create policy "Users manage own jobs" on public.jobs
    for all using (auth.uid() = user_id) with check (auth.uid() = user_id);
"""
ORIGINAL_ROWS = """
insert into public.jobs (id, user_id, source_type, source_id, title, company, tags,
                         raw_data, notes, rating, bookmarked, created_at, updated_at)
values
 ('11111111-0000-4000-8000-000000000001', %(a)s, 'web_search',
  'https://jobs.example.test/p/1', 'Old title', 'Example GmbH', '{python,remote}',
  '{"source": "firecrawl_kafka"}', 'call back', 4, true,
  '2025-06-01T00:00:00Z', '2025-06-01T00:00:00Z'),
 ('11111111-0000-4000-8000-000000000002', %(b)s, 'web_search',
  'https://jobs.example.test/p/2', 'Data Engineer', 'Beispiel AG', null,
  null, null, null, false, '2025-06-02T00:00:00Z', '2025-06-02T00:00:00Z')
"""
ORIGINAL_COLUMNS = (
    "id, user_id, source_type, source_id, title, company, description, location, "
    "remote_type, employment_type, salary_min, salary_max, salary_currency, "
    "experience_level, tags, apply_url, posted_at, expires_at, status, notes, "
    "rating, bookmarked, raw_data, company_logo, created_at, updated_at"
)


def _apply_migration(conninfo: str) -> None:
    with psycopg.connect(conninfo) as conn:
        for path in MIGRATIONS:
            conn.execute(path.read_text(encoding="utf-8"))


def _seed_original(conninfo: str) -> None:
    with psycopg.connect(conninfo) as conn:
        _add_users(conn)
        conn.execute(ORIGINAL_JOBS)
        conn.execute(ORIGINAL_ROWS, {"a": USER_A, "b": USER_B})


def _add_users(conn: Connection[Any]) -> None:
    conn.execute(
        "insert into auth.users (id) values (%s), (%s) on conflict do nothing",
        (USER_A, USER_B),
    )


@pytest.fixture(params=["fresh", "original"])
def unmigrated(
    request: pytest.FixtureRequest, make_database: Callable[[], str]
) -> tuple[str, str]:
    """(kind, conninfo) of a database before the migration."""
    conninfo = make_database()
    if request.param == "original":
        _seed_original(conninfo)
    else:
        with psycopg.connect(conninfo) as conn:
            _add_users(conn)
    return request.param, conninfo


@pytest.fixture
def migrated(unmigrated: tuple[str, str]) -> str:
    """A migrated database, fresh or over the original table."""
    _apply_migration(unmigrated[1])
    return unmigrated[1]


@contextlib.contextmanager
def _as_role(
    conninfo: str, role: str, user: uuid.UUID | None = None
) -> Iterator[Connection[Any]]:
    """A connection acting as a Supabase API role, as PostgREST sets it up."""
    with psycopg.connect(conninfo) as conn:
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        claims = {"sub": str(user), "role": role} if user else {"role": role}
        conn.execute(
            "select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),)
        )
        yield conn


def _postgrest_upsert(
    conn: Connection[Any], table: str, body: dict[str, Any], conflict: str
) -> None:
    """The statement PostgREST runs for `POST /table?on_conflict=...` with merge."""
    columns = [sql.Identifier(name) for name in body]
    targets = [sql.Identifier(name) for name in conflict.split(",")]
    updates = [sql.SQL("{0} = excluded.{0}").format(column) for column in columns]
    statement = sql.SQL(
        "insert into public.{table} ({cols}) select {cols} "
        "from json_populate_recordset(null::public.{table}, %s::json) "
        "on conflict ({targets}) do update set {updates}"
    ).format(
        table=sql.Identifier(table),
        cols=sql.SQL(", ").join(columns),
        targets=sql.SQL(", ").join(targets),
        updates=sql.SQL(", ").join(updates),
    )
    conn.execute(statement, (json.dumps([body]),))


def _posting(source_id: str, title: str = "Python Developer") -> Posting:
    return Posting(
        source_id=source_id,
        title=title,
        company="Example GmbH",
        location="Berlin, DE",
        remote_type="Hybrid",
        salary_min=60000,
        salary_max=80000,
        salary_currency="EUR",
        salary_period="year",
        tags=["python", "sql"],
        posted_at=NOW,
        raw_data={"extractor": "json-ld", "when": NOW},
    )


def _claim(
    conn: Connection[Any],
    search_id: uuid.UUID,
    owner: str,
    lease_seconds: float = 30.0,
    user: uuid.UUID = USER_A,
) -> dict[str, Any]:
    row = conn.execute(
        "select public.claim_job_search(%s, %s, %s, %s, %s, %s, %s)",
        (search_id, user, "python", Jsonb({"limit": 5}), "t-1", owner, lease_seconds),
    ).fetchone()
    assert row is not None
    result: dict[str, Any] = row[0]
    return result


def _store_job(conninfo: str, search_id: uuid.UUID, user: uuid.UUID, url: str) -> None:
    with _as_role(conninfo, "service_role") as conn:
        _claim(conn, search_id, "sink-1", user=user)
        body = job_row(
            _posting(url), user_id=user, search_id=search_id, trace_id="t-1", now=NOW
        )
        _postgrest_upsert(conn, "jobs", body, JOB_CONFLICT)


def _schema_snapshot(conninfo: str) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "columns": """select table_name, column_name, data_type, is_nullable,
                          column_default from information_schema.columns
                      where table_schema = 'public' order by 1, 2""",
        "indexes": """select indexname, indexdef from pg_indexes
                      where schemaname = 'public' order by 1""",
        "constraints": """select conrelid::regclass::text, conname,
                              pg_get_constraintdef(oid) from pg_constraint
                          where connamespace = 'public'::regnamespace order by 1, 2""",
        "policies": """select tablename, policyname, cmd, roles::text, qual
                       from pg_policies where schemaname = 'public' order by 1, 2""",
        "grants": """select table_name, grantee, privilege_type
                     from information_schema.role_table_grants
                     where table_schema = 'public' order by 1, 2, 3""",
        "functions": """select proname, md5(prosrc), proacl::text from pg_proc
                        where pronamespace = 'public'::regnamespace order by 1""",
        "publication": """select tablename from pg_publication_tables
                          where pubname = 'supabase_realtime' order by 1""",
    }
    with psycopg.connect(conninfo) as conn:
        return {name: conn.execute(q).fetchall() for name, q in queries.items()}


def test_migration_applied_twice_changes_nothing(unmigrated: tuple[str, str]) -> None:
    """A second run succeeds and leaves the schema exactly as the first left it."""
    _apply_migration(unmigrated[1])
    first = _schema_snapshot(unmigrated[1])

    _apply_migration(unmigrated[1])

    assert _schema_snapshot(unmigrated[1]) == first


def test_migration_over_original_keeps_existing_rows(
    make_database: Callable[[], str],
) -> None:
    """Rows of the original table keep every value; the new columns stay null."""
    conninfo = make_database()
    _seed_original(conninfo)
    query = f"select {ORIGINAL_COLUMNS} from public.jobs order by id"  # noqa: S608
    with psycopg.connect(conninfo) as conn:
        before = conn.execute(query).fetchall()

    _apply_migration(conninfo)

    with psycopg.connect(conninfo) as conn:
        assert conn.execute(query).fetchall() == before
        added = conn.execute(
            "select search_id, trace_id, salary_period from public.jobs"
        ).fetchall()
    assert added == [(None, None, None), (None, None, None)]


def test_migration_jobs_has_every_column_the_store_uses(migrated: str) -> None:
    """Each column the store selects or sends exists, with the types it expects."""
    body = job_row(
        _posting("https://x.example.test/1"),
        user_id=USER_A,
        search_id=uuid.uuid4(),
        trace_id=None,
        now=NOW,
    )
    with psycopg.connect(migrated) as conn:
        rows = conn.execute(
            """select column_name, udt_name from information_schema.columns
               where table_schema = 'public' and table_name = 'jobs'"""
        ).fetchall()
    types = dict(rows)

    assert set(JOB_COLUMNS.split(",")) | set(body) <= set(types)
    assert (types["tags"], types["raw_data"], types["search_id"]) == (
        "_text",
        "jsonb",
        "uuid",
    )


def test_migration_posting_found_twice_stays_one_row(migrated: str) -> None:
    """A second upsert of the same posting updates the row and keeps its identity."""
    url = "https://jobs.example.test/p/1"
    first, second = uuid.uuid4(), uuid.uuid4()
    _store_job(migrated, first, USER_A, url)
    with psycopg.connect(migrated) as conn:
        before = conn.execute(
            "select id, created_at from public.jobs where source_id = %s", (url,)
        ).fetchone()

    _store_job(migrated, second, USER_A, url)

    with psycopg.connect(migrated) as conn:
        rows = conn.execute(
            """select id, created_at, search_id, status, tags, raw_data, title
               from public.jobs where user_id = %s and source_id = %s""",
            (USER_A, url),
        ).fetchall()
    assert len(rows) == 1
    row_id, created_at, search_id, status, tags, raw_data, title = rows[0]
    assert (row_id, created_at) == before
    assert (search_id, status, tags, title) == (
        second,
        "active",
        ["python", "sql"],
        "Python Developer",
    )
    assert raw_data == {"extractor": "json-ld", "when": str(NOW)}


def test_migration_refound_original_row_keeps_user_marks(
    make_database: Callable[[], str],
) -> None:
    """An original row found again is updated; the user's notes and rating stay."""
    conninfo = make_database()
    _seed_original(conninfo)
    _apply_migration(conninfo)

    _store_job(conninfo, uuid.uuid4(), USER_A, "https://jobs.example.test/p/1")

    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            """select id, title, notes, rating, bookmarked from public.jobs
               where source_id = 'https://jobs.example.test/p/1'"""
        ).fetchone()
    assert row == (
        uuid.UUID("11111111-0000-4000-8000-000000000001"),
        "Python Developer",
        "call back",
        4,
        True,
    )


@pytest.mark.parametrize(
    ("user", "visible"),
    [(USER_A, {"https://a.example.test/1"}), (USER_B, {"https://b.example.test/1"})],
)
def test_migration_user_reads_only_own_rows(
    migrated: str, user: uuid.UUID, visible: set[str]
) -> None:
    """Each signed-in user sees exactly their own jobs and searches."""
    search_a, search_b = uuid.uuid4(), uuid.uuid4()
    _store_job(migrated, search_a, USER_A, "https://a.example.test/1")
    _store_job(migrated, search_b, USER_B, "https://b.example.test/1")

    with _as_role(migrated, "authenticated", user) as conn:
        jobs = conn.execute("select source_id, search_id from public.jobs").fetchall()
        searches = conn.execute("select search_id from public.job_searches").fetchall()

    own_search = search_a if user == USER_A else search_b
    assert {source for source, search in jobs if search is not None} == visible
    assert {source for source, _ in jobs} <= visible | _original_sources(user)
    assert searches == [(own_search,)]


def _original_sources(user: uuid.UUID) -> set[str]:
    index = "1" if user == USER_A else "2"
    return {f"https://jobs.example.test/p/{index}"}


def test_migration_anonymous_reads_nothing(migrated: str) -> None:
    """The anon role sees no job and no search."""
    _store_job(migrated, uuid.uuid4(), USER_A, "https://a.example.test/1")

    with _as_role(migrated, "anon") as conn:
        jobs = conn.execute("select count(*) from public.jobs").fetchone()
        searches = conn.execute("select count(*) from public.job_searches").fetchone()

    assert (jobs, searches) == ((0,), (0,))


@pytest.mark.parametrize(
    "statement",
    [
        "insert into public.jobs (user_id, source_type, source_id, title, company) "
        "values (%(user)s, 'web_search', 'https://evil.example.test', 't', 'c')",
        "update public.jobs set title = 'changed' where user_id = %(user)s",
        "update public.jobs set bookmarked = true where user_id = %(user)s",
        "delete from public.jobs where user_id = %(user)s",
        "insert into public.job_searches (search_id, user_id, query) "
        "values (gen_random_uuid(), %(user)s, 'q')",
        "update public.job_searches set status = 'failed' where user_id = %(user)s",
        "select * from public.search_pages",
        "select public.release_job_search(gen_random_uuid(), 'x')",
        "select public.job_search_summary(gen_random_uuid())",
    ],
)
@pytest.mark.parametrize("role", ["authenticated", "anon"])
def test_migration_api_roles_cannot_write(
    migrated: str, statement: str, role: str
) -> None:
    """Signed-in and anonymous callers are refused every write and the functions."""
    _store_job(migrated, uuid.uuid4(), USER_A, "https://a.example.test/1")

    with (
        _as_role(migrated, role, USER_A) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(statement, {"user": USER_A})


def test_migration_publication_holds_both_tables(migrated: str) -> None:
    """Realtime publishes jobs and job_searches (INSERT and UPDATE)."""
    with psycopg.connect(migrated) as conn:
        tables = conn.execute(
            """select tablename from pg_publication_tables
               where pubname = 'supabase_realtime' order by 1"""
        ).fetchall()
        actions = conn.execute(
            """select pubinsert, pubupdate from pg_publication
               where pubname = 'supabase_realtime'"""
        ).fetchone()

    assert tables == [("job_searches",), ("jobs",)]
    assert actions == (True, True)


def test_migration_creates_missing_publication(
    make_database: Callable[[], str],
) -> None:
    """Without a `supabase_realtime` publication the migration creates it."""
    conninfo = make_database()
    with psycopg.connect(conninfo) as conn:
        conn.execute("drop publication supabase_realtime")

    _apply_migration(conninfo)

    with psycopg.connect(conninfo) as conn:
        count = conn.execute(
            """select count(*) from pg_publication_tables
               where pubname = 'supabase_realtime'"""
        ).fetchone()
    assert count == (2,)


def test_migration_asks_postgrest_to_reload(make_database: Callable[[], str]) -> None:
    """Applying the migration notifies `pgrst` to reload its schema cache."""
    conninfo = make_database()
    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute("listen pgrst")

        _apply_migration(conninfo)

        notes = list(listener.notifies(timeout=5.0, stop_after=1))
    assert [(n.channel, n.payload) for n in notes] == [("pgrst", "reload schema")]


@pytest.fixture
def service(migrated: str) -> Iterator[Connection[Any]]:
    """An autocommit connection acting as the service role."""
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("set role service_role")
        yield conn


def test_claim_free_search_is_acquired(service: Connection[Any]) -> None:
    """The first claim records the search and takes the lease."""
    search_id = uuid.uuid4()

    result = _claim(service, search_id, "sink-1")

    assert (result["outcome"], result["status"]) == ("acquired", "processing")
    row = service.execute(
        "select lease_owner, deliveries, query from public.job_searches "
        "where search_id = %s",
        (search_id,),
    ).fetchone()
    assert row == ("sink-1", 1, "python")


@pytest.mark.parametrize(
    ("second_owner", "first_lease", "outcome"),
    [
        ("sink-2", 30.0, "busy"),
        ("sink-1", 30.0, "acquired"),
        ("sink-2", -1.0, "acquired"),
    ],
    ids=["other-owner-busy", "same-owner-again", "expired-lease-taken"],
)
def test_claim_second_delivery_outcome(
    service: Connection[Any],
    second_owner: str,
    first_lease: float,
    outcome: str,
) -> None:
    """A held lease is busy for others, renewable by its owner, free once expired."""
    search_id = uuid.uuid4()
    _claim(service, search_id, "sink-1", lease_seconds=first_lease)

    result = _claim(service, search_id, second_owner)

    assert result["outcome"] == outcome


def test_claim_released_lease_is_free(service: Connection[Any]) -> None:
    """After a release another delivery takes the lease at once."""
    search_id = uuid.uuid4()
    _claim(service, search_id, "sink-1")

    released = service.execute(
        "select public.release_job_search(%s, %s)", (search_id, "sink-1")
    ).fetchone()

    assert released == (True,)
    assert _claim(service, search_id, "sink-2")["outcome"] == "acquired"


def test_finish_counts_and_ends_the_search(service: Connection[Any]) -> None:
    """Finishing stores live counts; a later claim answers finished."""
    search_id = uuid.uuid4()
    _claim(service, search_id, "sink-1")
    body = job_row(
        _posting("https://a.example.test/1"),
        user_id=USER_A,
        search_id=search_id,
        trace_id="t-1",
        now=NOW,
    )
    _postgrest_upsert(service, "jobs", body, JOB_CONFLICT)
    for url, state in [("https://a.example.test/1", "done"), ("https://x", "failed")]:
        page = {"search_id": str(search_id), "url": url, "state": state}
        _postgrest_upsert(service, "search_pages", page, "search_id,url")

    finished = service.execute(
        "select public.finish_job_search(%s, %s, %s, %s, %s)",
        (search_id, "sink-1", "completed", Jsonb([{"url": "https://x"}]), None),
    ).fetchone()

    assert finished == (True,)
    summary = service.execute(
        "select public.job_search_summary(%s)", (search_id,)
    ).fetchone()
    assert summary is not None
    counts = {key: summary[0][key] for key in ("jobs_found", "pages_total")}
    assert counts == {"jobs_found": 1, "pages_total": 2}
    assert (summary[0]["live_failed"], summary[0]["status"]) == (1, "completed")
    assert _claim(service, search_id, "sink-2")["outcome"] == "finished"


def test_finish_by_other_owner_changes_nothing(
    service: Connection[Any],
) -> None:
    """Only the lease holder may finish the search."""
    search_id = uuid.uuid4()
    _claim(service, search_id, "sink-1")

    finished = service.execute(
        "select public.finish_job_search(%s, %s, %s, %s, %s)",
        (search_id, "sink-2", "failed", Jsonb([]), "nope"),
    ).fetchone()

    assert finished == (False,)
    assert _claim(service, search_id, "sink-1")["outcome"] == "acquired"


def test_summary_of_unknown_search_is_null(service: Connection[Any]) -> None:
    """The summary function answers null for an id it does not know."""
    row = service.execute(
        "select public.job_search_summary(%s)", (uuid.uuid4(),)
    ).fetchone()

    assert row == (None,)


def test_claim_concurrent_deliveries_one_acquires(migrated: str) -> None:
    """A claim racing an uncommitted claim waits for it, then answers busy."""
    search_id = uuid.uuid4()
    outcomes: dict[str, str] = {}
    with psycopg.connect(migrated) as first:
        first.execute("set role service_role")
        outcomes["sink-1"] = _claim(first, search_id, "sink-1")["outcome"]

        def second_delivery() -> None:
            with psycopg.connect(migrated, autocommit=True) as conn:
                conn.execute("set role service_role")
                outcomes["sink-2"] = _claim(conn, search_id, "sink-2")["outcome"]

        racer = threading.Thread(target=second_delivery)
        racer.start()
        waited = _wait_for_lock_waiter(migrated)
        first.commit()
        racer.join(timeout=10)

    assert waited
    assert outcomes == {"sink-1": "acquired", "sink-2": "busy"}


def _wait_for_lock_waiter(conninfo: str) -> bool:
    """True once another session waits on a lock (polled, at most 5 s)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for _ in range(100):
            row = conn.execute(
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
            ).fetchone()
            if row and row[0]:
                return True
            time.sleep(0.05)
    return False
