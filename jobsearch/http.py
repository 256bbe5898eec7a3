"""What both apps share at the HTTP edge: JSON errors, bounded bodies, request logs.

Every non-2xx answer of either app is built by `error_response`, so its body is always
`{"error": <code>, "message": <sentence>, ...}` and never carries upstream text.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobsearch.errors import InvalidMessageError
from jobsearch.logs import log_fields
from jobsearch.metrics import Metrics

_TRACE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def error_response(
    status: int,
    error: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """The one shape of every error answer."""
    body = {"error": error, "message": message, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def retry_later(
    status: int,
    error: str,
    message: str,
    seconds: int,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An error answer naming the wait in `Retry-After` and `retryAfterSeconds`."""
    return error_response(
        status,
        error,
        message,
        headers={**(headers or {}), "Retry-After": str(seconds)},
        retryAfterSeconds=seconds,
        **extra,
    )


async def read_body(request: Request, limit: int, *, read_seconds: float) -> bytes:
    """The whole body, refusing more than `limit` bytes before buffering it.

    Raises `InvalidMessageError`: 413 as soon as the limit is passed, 408 when the
    body does not arrive within `read_seconds`.
    """
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _too_large(limit)
    try:
        async with asyncio.timeout(read_seconds):
            return await _read_limited(request, limit)
    except TimeoutError:
        raise InvalidMessageError(
            "request_timeout", "the body did not arrive in time", status=408
        ) from None


async def _read_limited(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody is left to read the answer; this only keeps it out of the 5xx.
        raise InvalidMessageError(
            "incomplete_body", "the client left before sending the whole body"
        ) from None
    return b"".join(chunks)


def _too_large(limit: int) -> InvalidMessageError:
    return InvalidMessageError(
        "payload_too_large", f"the body must be at most {limit} bytes", status=413
    )


def trace_id_from(headers: Headers) -> str:
    """The caller's W3C trace id or request id when well formed, else a new one."""
    match = _TRACEPARENT.match(headers.get("traceparent", ""))
    if match and set(match.group(1)) != {"0"}:
        return match.group(1)
    request_id = headers.get("x-request-id", "")
    if _TRACE_ID.match(request_id):
        return request_id
    return uuid.uuid4().hex


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 answers, as JSON."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(404, "not_found", "no such route")
    if exc.status_code == 405:
        headers = dict(exc.headers or {})
        return error_response(
            405, "method_not_allowed", "method not allowed", headers=headers
        )
    return error_response(exc.status_code, "http_error", "the request was refused")


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    """A bug: logged with its traceback by the caller, answered without detail."""
    return error_response(500, "internal_error", "an unexpected error occurred")


class RequestLogMiddleware:
    """One canonical log line per request: route, status, duration and ids.

    Handlers add ids to `scope["state"]["log"]`; headers and bodies are never logged.
    """

    def __init__(self, app: ASGIApp, *, name: str, metrics: Metrics) -> None:
        self.app = app
        self.logger = logging.getLogger(f"jobsearch.{name}")
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        fields: dict[str, Any] = {}
        scope.setdefault("state", {})["log"] = fields

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            elapsed = time.perf_counter() - started
            self._record(scope, status, elapsed, fields)

    def _record(
        self, scope: Scope, status: int, elapsed: float, fields: dict[str, Any]
    ) -> None:
        route = _route_of(scope)
        self.metrics.observe_request(route, scope["method"], status, elapsed)
        level = logging.ERROR if status >= 500 and status != 503 else logging.INFO
        self.logger.log(
            level,
            "request",
            extra=log_fields(
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 1),
                **fields,
            ),
        )


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Headers that keep a JSON API from being sniffed, framed or cached.

    HSTS is added only in production, where a TLS proxy fronts the app.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = (*SECURITY_HEADERS, HSTS) if hsts else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [pair for pair in self.headers if pair[0] not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS handling, with a refused preflight answered in JSON."""

    def preflight_response(self, request_headers: Headers) -> Response:
        """The preflight answer; a refusal names what was refused."""
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        kept = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "content-type")
        }
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        return error_response(
            400,
            "cors_refused",
            f"this cross-origin request is not allowed ({refused})",
            headers=kept,
        )
