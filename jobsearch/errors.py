"""One exception tree for the whole project.

Every failure the apps answer for is a subclass of `JobSearchError`, grouped by family
so that the HTTP layer can map a family to a status in one place.
"""

from __future__ import annotations


class JobSearchError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigurationError(JobSearchError):
    """A setting is missing or invalid; the message names settings, never values."""


class AuthenticationError(JobSearchError):
    """A caller could not be authenticated."""


class InvalidMessageError(JobSearchError):
    """A search request or record can never be processed as sent."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class UpstreamError(JobSearchError):
    """An external service failed; `retryable` says whether a later try can succeed."""

    def __init__(
        self,
        service: str,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.code = code


class StoreError(JobSearchError):
    """The store failed; stored work is never lost, so the caller may retry."""
