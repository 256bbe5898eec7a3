"""Frontend-facing app: validate a job search, produce it, answer 202.

`uvicorn producer_app:app` serves it; the app is built on first access, so importing
the package's modules never reads settings.
"""

from __future__ import annotations

from typing import Any

from jobsearch.serving import lazy_app


def _create() -> Any:
    from producer_app.main import create_app

    return create_app()


__getattr__ = lazy_app(_create)
