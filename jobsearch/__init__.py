"""Shared core of jobsearch-offload: message contract, settings, storage and CLI."""

__version__ = "0.1.0"
