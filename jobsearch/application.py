"""What both Starlette apps are made of besides their own routes.

Each app adds its routes and lifespan; this module adds the same operational routes,
middleware, JSON error handlers and state to both, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jobsearch.health import healthz
from jobsearch.http import (
    RequestLogMiddleware,
    SecurityHeadersMiddleware,
    http_exception_handler,
    unexpected_error_handler,
)
from jobsearch.metrics import Metrics, metrics_endpoint
from jobsearch.openapi import openapi_endpoint
from jobsearch.settings import Settings

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def build_app(
    name: str,
    settings: Settings,
    routes: Sequence[BaseRoute],
    *,
    readyz: Callable[[Request], Awaitable[Response]],
    openapi: Callable[[], dict[str, Any]],
    lifespan: Lifespan,
    middleware: Sequence[Middleware] = (),
) -> Starlette:
    """An app with `routes` plus health, readiness, metrics and its OpenAPI document."""
    metrics = Metrics()
    app = Starlette(
        routes=[
            *routes,
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/openapi.json", openapi_endpoint(openapi), methods=["GET"]),
        ],
        middleware=[
            Middleware(RequestLogMiddleware, name=name, metrics=metrics),
            Middleware(SecurityHeadersMiddleware, hsts=settings.is_production),
            *middleware,
        ],
        exception_handlers={
            HTTPException: http_exception_handler,
            Exception: unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    # A trailing slash is another route, answered 404: the connector follows no
    # redirect, and a frontend should not depend on one either.
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.metrics = metrics
    return app
