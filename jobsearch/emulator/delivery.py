"""Deliver records over HTTP exactly as the connector config says the HttpSink would.

A batch ends in one committed outcome: a 2xx (success-topic records), a give-up after
retries (error-topic records, or a failed task with `behavior.on.error=fail`), a
tombstone handled per `behavior.on.null.values`, or an unreadable value sent to the DLQ.
The offset moves only in the same transaction as that outcome's report records, and
only after the outcome: commits are queued to a `Committer` that writes them in groups.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from jobsearch.connector.config import ConnectorConfig
from jobsearch.emulator import wire
from jobsearch.emulator.body import render_body, render_url, request_headers
from jobsearch.emulator.commits import Committer
from jobsearch.emulator.log import EventLog, NewRecord, Record
from jobsearch.emulator.reports import (
    Outcome,
    TopicNames,
    dlq_record,
    error_record,
    success_record,
)
from jobsearch.errors import UpstreamError
from jobsearch.logs import log_fields

logger = logging.getLogger("jobsearch.emulator.delivery")
MAX_BACKOFF_SECONDS = 300.0
_UNREADABLE = object()


def backoff_seconds(config: ConnectorConfig, retry: int, rng: random.Random) -> float:
    """The wait before retry number `retry` (1-based).

    Exponential with jitter: uniform in [c/2, c] where c = backoff * 2^(retry-1),
    capped at five minutes; `CONSTANT_VALUE` always waits `retry.backoff.ms`.
    """
    base = config.retry_backoff_ms / 1000
    if config.retry_backoff_policy == "CONSTANT_VALUE":
        return base
    ceiling = min(math.ldexp(base, retry - 1), MAX_BACKOFF_SECONDS)
    jitter: float = rng.uniform(0, ceiling / 2)
    return ceiling / 2 + jitter


@dataclass
class Deliverer:
    """Turns the head of a partition into one committed outcome."""

    config: ConnectorConfig
    log: EventLog
    client: aiohttp.ClientSession
    names: TopicNames = field(default_factory=TopicNames)
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    committer: Committer = field(init=False)

    def __post_init__(self) -> None:
        self.committer = Committer(self.log, self.names.group)

    async def deliver(self, records: Sequence[Record]) -> int:
        """Handle a batch from the head of `records`; returns how many it consumed.

        Raises `UpstreamError` when the task must stop (`behavior.on.error=fail`).
        """
        head = records[0]
        if head.value is None:
            await self._tombstone(head)
            return 1
        values = []
        for record in records[: self.config.batch_max_size]:
            value = self._convert(record)
            if value is _UNREADABLE or record.value is None:
                break
            values.append(value)
        if not values:
            await self._dead_letter(head)
            return 1
        batch = records[: len(values)]
        payload = render_body(self.config, values)
        url = render_url(self.config.http_api_url, head)
        outcome = await self._exchange(self.config.request_method, url, payload)
        await self._finish(batch, outcome, payload)
        return len(batch)

    def _convert(self, record: Record) -> object:
        try:
            value = json.loads(record.value or b"")
        except ValueError:
            return _UNREADABLE
        if self.config.value_converter_schemas_enable:
            if not isinstance(value, dict) or set(value) != {"schema", "payload"}:
                return _UNREADABLE
            return value["payload"]
        return value

    async def _tombstone(self, record: Record) -> None:
        behaviour = self.config.behavior_on_null_values
        url = render_url(self.config.http_api_url, record)
        if behaviour == "ignore":
            await self._commit(record, [])
        elif behaviour == "delete":
            await self._finish([record], await self._exchange("DELETE", url, None), b"")
        else:
            failure = Outcome(
                url, error_message="null value with behavior.on.null.values=fail"
            )
            await self._finish([record], failure, b"")

    async def _dead_letter(self, record: Record) -> None:
        if self.config.errors_tolerance == "none":
            raise UpstreamError(
                "http-sink", "record value is not JSON and errors.tolerance=none",
                retryable=False,
            )  # fmt: skip
        report = dlq_record(
            record,
            "org.apache.kafka.connect.errors.DataException",
            "Converting byte[] to Kafka Connect data failed due to serialization error",
        )
        await self._commit(record, [(self.names.dlq, report)])

    async def _finish(
        self, batch: Sequence[Record], outcome: Outcome, payload: bytes
    ) -> None:
        if outcome.ok:
            reports = [(self.names.success, success_record(r, outcome)) for r in batch]
            await self._commit(batch[-1], reports)
            return
        if self.config.behavior_on_error == "fail":
            raise UpstreamError(
                "http-sink", _describe(batch[0], outcome), retryable=False
            )
        if self.config.behavior_on_error == "log":
            logger.warning(
                "record sent to the error topic",
                extra=log_fields(**_coordinates(batch[0]), status=outcome.status),
            )
        reports = [
            (
                self.names.error,
                error_record(
                    r, outcome, payload, report_as=self.config.report_errors_as
                ),
            )
            for r in batch
        ]
        await self._commit(batch[-1], reports)

    async def _commit(
        self, record: Record, reports: list[tuple[str, NewRecord]]
    ) -> None:
        await self.committer.commit(record, reports)

    async def _exchange(self, method: str, url: str, payload: bytes | None) -> Outcome:
        retry = 0
        while True:
            outcome = await self._attempt(method, url, payload)
            if outcome.ok or retry >= self.config.max_retries:
                return outcome
            if not self._retryable(outcome):
                return outcome
            retry += 1
            delay = backoff_seconds(self.config, retry, self.rng)
            logger.warning(
                "retrying request",
                extra=log_fields(
                    retry=retry, status=outcome.status, delay_s=round(delay, 3)
                ),
            )
            await self.sleep(delay)

    def _retryable(self, outcome: Outcome) -> bool:
        if outcome.status is None:
            return True
        ranges = self.config.retry_ranges()
        return any(low <= outcome.status <= high for low, high in ranges)

    async def _attempt(self, method: str, url: str, payload: bytes | None) -> Outcome:
        headers = request_headers(self.config, with_body=payload is not None)
        return await wire.exchange(
            self.client, method, url, payload=payload, headers=headers
        )


def _coordinates(record: Record) -> dict[str, object]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
    }


def _describe(record: Record, outcome: Outcome) -> str:
    cause = f"HTTP {outcome.status}" if outcome.status else outcome.exception
    return (
        f"{record.topic}/{record.partition}@{record.offset} failed after retries "
        f"({cause}) with behavior.on.error=fail"
    )
