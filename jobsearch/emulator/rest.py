"""The Kafka REST v3 produce endpoint, answering the way Confluent Cloud does.

The endpoint is a raw ASGI app so it can read concatenated records from a chunked
request and write each delivery report as soon as the record is stored.
"""

from __future__ import annotations

import asyncio
import binascii
import codecs
import hmac
import json
from base64 import b64decode
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from jobsearch.emulator.limits import TOO_MANY_REQUESTS_HTML, ClusterLimits
from jobsearch.emulator.log import EventLog
from jobsearch.emulator.produce import DESERIALIZE, parse_record, success_report
from jobsearch.errors import InvalidMessageError

PRODUCE_PATH = "/kafka/v3/clusters/{cluster_id}/topics/{topic_name}/records"
MAX_RECORD_BYTES = 8 * 1024 * 1024
EMPTY_BODY = "Payload error. Request body is empty. Data is required."
_MALFORMED = "malformed"
_END = object()


@dataclass
class RestState:
    """What the endpoint needs: identity, credentials, topics and the log."""

    cluster_id: str
    credentials: tuple[str, SecretStr]
    topics: frozenset[str]
    log: EventLog
    on_append: Callable[[], None] = lambda: None
    limits: ClusterLimits | None = None
    partitions: dict[str, int] = field(default_factory=dict)


def create_rest_app(state: RestState) -> Starlette:
    """The REST app: one produce route, Confluent-shaped errors elsewhere."""
    route = Route(PRODUCE_PATH, ProduceEndpoint(state), methods=["POST"])
    return Starlette(routes=[route], exception_handlers={HTTPException: _http_error})


def error_response(status: int, error_code: int, message: str) -> JSONResponse:
    """Confluent's `Error` body."""
    return JSONResponse({"error_code": error_code, "message": message}, status)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return error_response(status, status, f"HTTP {status} {_phrase(status)}")


def _phrase(status: int) -> str:
    return {404: "Not Found", 405: "Method Not Allowed"}.get(status, "Error")


class ProduceEndpoint:
    """`POST .../records`: one delivery report per record, in order."""

    def __init__(self, state: RestState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then stream reports while reading records."""
        request = Request(scope, receive)
        topic = str(request.path_params["topic_name"])
        objects = JsonObjects(request.stream())
        try:
            response = self._reject(request) or await self._first(topic, objects, send)
        except ClientDisconnect:
            return
        if response is not None:
            await response(scope, receive, send)

    def _reject(self, request: Request) -> Response | None:
        limits = self.state.limits
        if limits is not None and not limits.connections.allow():
            page = TOO_MANY_REQUESTS_HTML.format(path=request.url.path)
            return HTMLResponse(page, status_code=429)
        if not self._authenticated(request.headers.get("authorization", "")):
            return error_response(401, 40101, "Authentication failed")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return error_response(415, 415, "HTTP 415 Unsupported Media Type")
        cluster = request.path_params["cluster_id"]
        if cluster != self.state.cluster_id:
            return error_response(404, 404, f"Cluster {cluster} cannot be found.")
        if request.path_params["topic_name"] not in self.state.topics:
            return error_response(
                404, 40403, "This server does not host this topic-partition."
            )
        return None

    def _authenticated(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        try:
            decoded = b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        key, _, secret = decoded.partition(":")
        want_key, want_secret = self.state.credentials
        matches = hmac.compare_digest(key.encode(), want_key.encode())
        secret_ok = hmac.compare_digest(
            secret.encode(), want_secret.get_secret_value().encode()
        )
        return scheme.lower() == "basic" and matches and secret_ok

    async def _first(
        self, topic: str, objects: JsonObjects, send: Send
    ) -> Response | None:
        try:
            first = await objects.next()
            if first is _END:
                return error_response(422, 42206, EMPTY_BODY)
            report = await self._produce(topic, first)
        except InvalidMessageError as exc:
            return error_response(exc.status, exc.status, exc.message)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await _send_report(send, report)
        await self._rest(topic, objects, send)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return None

    async def _rest(self, topic: str, objects: JsonObjects, send: Send) -> None:
        while True:
            try:
                item = await objects.next()
                if item is _END:
                    return
                report = await self._produce(topic, item)
            except InvalidMessageError as exc:
                report = {"error_code": exc.status, "message": exc.message}
                if exc.code == _MALFORMED:
                    await _send_report(send, report)
                    return
            await _send_report(send, report)

    async def _produce(self, topic: str, body: object) -> dict[str, Any]:
        limits = self.state.limits
        if limits is not None and not limits.records.allow():
            return {"error_code": 429, "message": "Request rate limit exceeded"}
        partitions = await self._partitions(topic)
        try:
            new = parse_record(body, partitions)
        except InvalidMessageError as exc:
            if exc.code == DESERIALIZE:
                raise
            return {"error_code": exc.status, "message": exc.message}
        record = await asyncio.to_thread(self.state.log.append, topic, new)
        self.state.on_append()
        return success_report(self.state.cluster_id, record)

    async def _partitions(self, topic: str) -> int:
        known = self.state.partitions.get(topic)
        if known is None:
            known = await asyncio.to_thread(self.state.log.ensure_topic, topic)
            self.state.partitions[topic] = known
        return known


async def _send_report(send: Send, report: dict[str, Any]) -> None:
    body = json.dumps(report, separators=(",", ":")).encode() + b"\r\n"
    await send({"type": "http.response.body", "body": body, "more_body": True})


class JsonObjects:
    """Concatenated JSON values read incrementally from a byte stream."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._text = ""
        self._ended = False
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()

    async def next(self) -> object:
        """The next value, or `_END` when the stream is finished."""
        while True:
            self._text = self._text.lstrip()
            if self._text:
                try:
                    value, end = self._json.raw_decode(self._text)
                except RecursionError:
                    raise InvalidMessageError(
                        _MALFORMED, "The JSON nests too deeply"
                    ) from None
                except json.JSONDecodeError:
                    self._check_incomplete()
                else:
                    self._text = self._text[end:]
                    return value
            elif self._ended:
                return _END
            await self._pull()

    def _check_incomplete(self) -> None:
        if self._ended:
            raise InvalidMessageError(
                _MALFORMED, "Unexpected character: malformed JSON"
            )
        if len(self._text) > MAX_RECORD_BYTES:
            raise InvalidMessageError(
                _MALFORMED,
                "The request included a message larger than the maximum message size "
                "the server can accept.",
                status=413,
            )

    async def _pull(self) -> None:
        try:
            chunk = await anext(self._chunks)
        except StopAsyncIteration:
            chunk, self._ended = b"", True
        try:
            self._text += self._utf8.decode(chunk, final=self._ended)
        except UnicodeDecodeError:
            raise InvalidMessageError(
                _MALFORMED, "Invalid UTF-8 in request body"
            ) from None
