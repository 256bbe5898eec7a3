"""Logging, configured once at the entry point.

Lines are `key=value` on a terminal and JSON in production. Callers pass fields through
`extra={"fields": {...}}`; nothing here ever formats a header, a body or a secret.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import stamina.instrumentation

from jobsearch.settings import Settings


def log_fields(**fields: Any) -> dict[str, Any]:
    """Wrap fields for `logger.info(..., extra=log_fields(...))`."""
    return {
        "fields": {key: value for key, value in fields.items() if value is not None}
    }


class TextFormatter(logging.Formatter):
    """`time level logger event key=value ...`, readable on a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        parts = [stamp, f"{record.levelname:<7}", record.name, record.getMessage()]
        parts += [f"{key}={_text(value)}" for key, value in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(settings: Settings) -> None:
    """Install one handler on the root logger; safe to call more than once."""
    use_json = settings.log_format == "json" or (
        settings.log_format == "auto" and settings.is_production
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())
    # uvicorn's access log would print every URL a second time; ours is canonical.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # aiosqlite logs every statement with its parameters at DEBUG: user data.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    stamina.instrumentation.set_on_retry_hooks([log_retry])


def log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    """One WARNING line per scheduled retry: what, which try, how long, why.

    Never the call's arguments: they can carry request bodies.
    """
    logging.getLogger("jobsearch.retry").warning(
        "retry scheduled",
        extra=log_fields(
            operation=details.name,
            retry=details.retry_num,
            wait_s=round(details.wait_for, 3),
            cause=type(details.caused_by).__name__,
        ),
    )


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or " " in text or "=" in text) else text
