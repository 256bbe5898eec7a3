"""What a PostgREST error means for the sink, decided in one place.

A duplicate key (23505, HTTP 409) means the row is already stored. Every other error
becomes a `StoreError`, which the sink answers with 503 so the record comes back later
and nothing is dropped. Errors that only an operator can fix (a wrong key, row-level
security, a migration not applied) also get one ERROR line naming the fix; no line
carries a key, a row value or upstream text.
"""

from __future__ import annotations

import logging

import httpx
from postgrest import APIError

from jobsearch.errors import StoreError
from jobsearch.logs import log_fields

logger = logging.getLogger("jobsearch.store.supabase")

DUPLICATE_CODES = frozenset({"23505", "409"})

# PostgreSQL SQLSTATEs and PostgREST codes that no retry can fix without an operator.
CONFIGURATION_FAULTS = {
    "42501": "permission denied or row-level security: SUPABASE_SERVICE_ROLE_KEY "
    "must hold the service-role key",
    "PGRST204": "a column is missing from PostgREST's schema cache: apply "
    "supabase/migrations, which ends by reloading the schema",
    "PGRST202": "a store function is missing: apply supabase/migrations",
    "PGRST205": "a table is missing: apply supabase/migrations",
    "42P01": "a table is missing: apply supabase/migrations",
    "42703": "a column is missing: apply supabase/migrations",
    "42883": "a store function is missing: apply supabase/migrations",
    "42P10": "no unique index matches the conflict target: apply supabase/migrations",
    "23503": "user_id is not a Supabase auth user: enable Supabase auth on the "
    "producer or set LOCAL_USER_ID to an existing user",
    "PGRST301": "the Supabase key was rejected: check SUPABASE_SERVICE_ROLE_KEY",
    "PGRST302": "the Supabase key was rejected: check SUPABASE_SERVICE_ROLE_KEY",
    "401": "the Supabase key was rejected: check SUPABASE_SERVICE_ROLE_KEY",
    "403": "the Supabase key was rejected: check SUPABASE_SERVICE_ROLE_KEY",
}


def is_duplicate(exc: APIError) -> bool:
    """True when the error says the row already exists."""
    return exc.code in DUPLICATE_CODES


def configuration_fault(exc: APIError) -> str | None:
    """The operator's fix for the error, or None when a retry may succeed alone."""
    return CONFIGURATION_FAULTS.get(exc.code or "")


def api_store_error(exc: APIError, target: str) -> StoreError:
    """A `StoreError` for a PostgREST error answer; logs configuration faults."""
    code = exc.code or "unknown"
    fix = configuration_fault(exc)
    if fix is not None:
        logger.error(
            "Supabase configuration fault",
            extra=log_fields(target=target, code=code, fix=fix),
        )
        return StoreError(f"Supabase refused {target} ({code}): {fix}")
    return StoreError(f"Supabase failed {target} ({code})")


def transport_store_error(exc: httpx.HTTPError, target: str) -> StoreError:
    """A `StoreError` for a request that got no answer (timeout, connection)."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
    return StoreError(f"Supabase {kind} for {target} ({type(exc).__name__})")
