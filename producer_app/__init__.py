"""Frontend-facing app: validate a job search, produce it, answer 202.

`uvicorn producer_app:app` serves it; the app is built on first access, so importing
the package's modules never reads settings.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _default_app() -> Any:
    from producer_app.app import create_app

    return create_app()


def __getattr__(name: str) -> Any:
    if name == "app":
        return _default_app()
    raise AttributeError(name)
