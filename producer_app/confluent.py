"""Produce one search to Kafka through the Confluent Cloud REST v3 API.

Success needs HTTP 200 *and* `error_code` 200 in the body: Confluent reports per-record
failures inside a 200, and throttles with an HTML 429 that carries no Retry-After.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import stamina

from jobsearch.errors import UpstreamError
from jobsearch.logs import log_fields
from jobsearch.message import SearchMessage
from jobsearch.settings import Settings

logger = logging.getLogger("jobsearch.producer.confluent")

SERVICE = "confluent"
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class ProduceReceipt:
    """Where the broker stored the record."""

    partition_id: int | None
    offset: int | None


class RetryableProduceError(UpstreamError):
    """A produce failure that a later attempt can fix."""


def build_produce_body(message: SearchMessage) -> dict[str, Any]:
    """The REST v3 `ProduceRequest` for one search: STRING key, JSON value."""
    trace = base64.b64encode(message.trace_id.encode()).decode("ascii")
    return {
        "key": {"type": "STRING", "data": message.record_key},
        "value": {"type": "JSON", "data": message.to_record_value()},
        "headers": [{"name": "trace_id", "value": trace}],
    }


def build_rest_client(settings: Settings) -> httpx.AsyncClient:
    """The one client the producer shares for every produce request."""
    key, secret = settings.rest_credentials
    timeout = httpx.Timeout(
        settings.produce_read_timeout, connect=settings.produce_connect_timeout
    )
    return httpx.AsyncClient(
        base_url=settings.rest_url,
        auth=httpx.BasicAuth(key, secret.get_secret_value()),
        timeout=timeout,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": "jobsearch-producer"},
    )


class ConfluentProducer:
    """Sends one record per search and judges the answer."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self._client = client
        self._cluster_path = f"/kafka/v3/clusters/{settings.cluster_id}"
        self._path = (
            f"{self._cluster_path}/topics/{settings.kafka_topic_job_search}/records"
        )
        self._budget = settings.produce_retry_budget

    async def ping(self) -> None:
        """Raise `UpstreamError` unless the REST endpoint answers and accepts us."""
        try:
            response = await self._client.get(self._cluster_path, timeout=2.0)
        except httpx.HTTPError as exc:
            raise UpstreamError(SERVICE, "unreachable", retryable=True) from exc
        if response.status_code in (401, 403) or response.status_code >= 500:
            raise UpstreamError(
                SERVICE, f"answered {response.status_code}", retryable=True
            )

    async def produce(self, message: SearchMessage) -> ProduceReceipt:
        """Produce `message`, retrying transient faults within the budget.

        Raises `UpstreamError` with `retryable` set for the caller to map to 503/502.
        """
        content = json.dumps(build_produce_body(message)).encode()
        return await retry_within_budget(self._send, content, self._budget)

    async def _send(self, content: bytes) -> ProduceReceipt:
        try:
            response = await self._client.post(
                self._path, content=content, headers=JSON_HEADERS
            )
        except httpx.TimeoutException as exc:
            raise transient("timed out", "queue_unavailable") from exc
        except httpx.TransportError as exc:
            raise transient("unreachable", "queue_unavailable") from exc
        return judge_report(response.status_code, json_object(response))


async def retry_within_budget(
    send: Callable[[bytes], Awaitable[ProduceReceipt]], content: bytes, budget: float
) -> ProduceReceipt:
    """`send(content)`, retried with capped, jittered backoff for `budget` seconds.

    Raises `UpstreamError`: retryable once the budget is spent, final at once for a
    rejection that no retry can fix.
    """
    try:
        async for attempt in stamina.retry_context(
            on=RetryableProduceError,
            timeout=budget,
            attempts=None,
            wait_initial=0.1,
            wait_max=1.0,
        ):
            with attempt:
                return await send(content)
    except RetryableProduceError as exc:
        raise UpstreamError(
            SERVICE, exc.message, retryable=True, code=exc.code
        ) from exc
    raise AssertionError("unreachable: retry_context always yields")  # pragma: no cover


def judge_report(status: int, body: dict[str, Any]) -> ProduceReceipt:
    """The receipt for a delivery report, or the `UpstreamError` its codes mean.

    Success needs HTTP 200 and `error_code` 200; 429, 408 and 5xx (also as five-digit
    codes such as 50003) raise `RetryableProduceError`, anything else a final error.
    """
    error_code = body.get("error_code")
    if status == 200 and error_code == 200:
        return ProduceReceipt(body.get("partition_id"), body.get("offset"))
    code = error_code if isinstance(error_code, int) else status
    # Five-digit codes such as 40403 or 50003 refine the three-digit status.
    family = code // 100 if code >= 1000 else code
    if status == 429 or family == 429:
        raise transient("throttled the request", "rate_limited")
    if status >= 500 or family >= 500 or family == 408:
        raise transient(f"failed with status {code}", "queue_unavailable")
    logger.error(
        "produce rejected",
        extra=log_fields(status=status, error_code=code, service=SERVICE),
    )
    raise UpstreamError(
        SERVICE,
        f"rejected the record (status {status}, error_code {code})",
        retryable=False,
        code="topic_not_found" if code == 40403 else "queue_rejected",
    )


def transient(what: str, code: str) -> RetryableProduceError:
    """A retryable produce failure; `code` becomes the answer's `error`."""
    return RetryableProduceError(
        SERVICE, f"Confluent {what}", retryable=True, code=code
    )


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or empty when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
