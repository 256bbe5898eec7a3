"""Connector-facing app: authenticate a delivery and run the search pipeline.

`uvicorn sink_app:app` serves it; the app is built on first access, so importing
the package's modules never reads settings.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _default_app() -> Any:
    from sink_app.app import create_app

    return create_app()


def __getattr__(name: str) -> Any:
    if name == "app":
        return _default_app()
    raise AttributeError(name)
