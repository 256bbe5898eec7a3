"""Storage of searches and jobs behind one interface."""

from __future__ import annotations

from jobsearch.settings import Settings
from jobsearch.store.base import Claim, PageProgress, SearchSummary, Store
from jobsearch.store.sqlite import SQLiteStore

__all__ = [
    "Claim",
    "PageProgress",
    "SQLiteStore",
    "SearchSummary",
    "Store",
    "open_store",
]


def open_store(settings: Settings) -> Store:
    """The store that the settings select (call `open()` before use)."""
    if settings.supabase_url and settings.supabase_service_role_key:
        # Imported only when selected: the Supabase SDK costs about 13 MB.
        from jobsearch.store.supabase import SupabaseStore

        return SupabaseStore(
            settings.supabase_url,
            settings.supabase_service_role_key,
            timeout_seconds=settings.supabase_timeout_seconds,
        )
    return SQLiteStore(settings.sqlite_path)
