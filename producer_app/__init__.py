"""Frontend-facing app: validate a job search, produce it, answer 202.

`uvicorn producer_app:app` serves it; the app is built on first access, so importing
the package's modules never reads settings.
"""

from __future__ import annotations

from typing import Any

from jobsearch.serving import lazy_app


def _create() -> Any:
    # `uvicorn producer_app:app` enters here: this is where logging is configured.
    from jobsearch.logs import configure_logging
    from jobsearch.settings import load_settings
    from producer_app.main import create_app

    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)


__getattr__ = lazy_app(_create)
