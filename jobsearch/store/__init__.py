"""Storage of searches and jobs behind one interface."""

from __future__ import annotations

from jobsearch.settings import Settings
from jobsearch.store.base import Claim, PageProgress, SearchSummary, Store
from jobsearch.store.sqlite import SQLiteStore
from jobsearch.store.supabase import SupabaseStore

__all__ = [
    "Claim",
    "PageProgress",
    "SQLiteStore",
    "SearchSummary",
    "Store",
    "SupabaseStore",
    "open_store",
]


def open_store(settings: Settings) -> Store:
    """The store that the settings select (call `open()` before use)."""
    if settings.supabase_url and settings.supabase_service_role_key:
        return SupabaseStore(
            settings.supabase_url,
            settings.supabase_service_role_key,
            timeout_seconds=settings.supabase_timeout_seconds,
        )
    return SQLiteStore(settings.sqlite_path)
