-- SQLite schema of the local store. Columns of `jobs` follow the table that the
-- original frontend renders; Supabase gets the same shape from supabase/migrations/.
PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS job_searches (
    search_id        TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL,
    query            TEXT NOT NULL,
    filters          TEXT NOT NULL DEFAULT '{}',
    status           TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    jobs_found       INTEGER NOT NULL DEFAULT 0,
    pages_total      INTEGER NOT NULL DEFAULT 0,
    pages_failed     INTEGER NOT NULL DEFAULT 0,
    errors           TEXT NOT NULL DEFAULT '[]',
    failure_reason   TEXT,
    trace_id         TEXT,
    deliveries       INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    completed_at     TEXT
);

CREATE TABLE IF NOT EXISTS search_pages (
    search_id  TEXT NOT NULL REFERENCES job_searches (search_id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('found', 'extracted', 'done', 'failed')),
    reason     TEXT,
    postings   TEXT NOT NULL DEFAULT '[]',
    content    TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (search_id, url)
);

CREATE TABLE IF NOT EXISTS jobs (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL,
    source_type      TEXT NOT NULL,
    source_id        TEXT NOT NULL,
    title            TEXT NOT NULL,
    company          TEXT NOT NULL,
    company_logo     TEXT,
    description      TEXT,
    location         TEXT,
    remote_type      TEXT CHECK (remote_type IN ('Remote', 'Hybrid', 'On-site')),
    employment_type  TEXT,
    experience_level TEXT,
    salary_min       INTEGER,
    salary_max       INTEGER,
    salary_currency  TEXT,
    salary_period    TEXT,
    tags             TEXT NOT NULL DEFAULT '[]',
    apply_url        TEXT,
    posted_at        TEXT,
    expires_at       TEXT,
    status           TEXT NOT NULL DEFAULT 'active',
    raw_data         TEXT NOT NULL DEFAULT '{}',
    search_id        TEXT,
    trace_id         TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (user_id, source_id)
);

CREATE INDEX IF NOT EXISTS jobs_search_id ON jobs (search_id);
