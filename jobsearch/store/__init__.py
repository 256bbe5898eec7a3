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
    return SQLiteStore(settings.sqlite_path)
