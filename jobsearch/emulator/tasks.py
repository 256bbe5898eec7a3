"""The connector's tasks: partitions split across `tasks.max`, each delivered in order.

Like Kafka Connect, a partition belongs to exactly one task and a task works through
its partitions one request at a time, so partitions of different tasks are delivered
concurrently and each partition strictly in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Literal

from jobsearch.connector.config import ConnectorConfig
from jobsearch.emulator.delivery import Deliverer
from jobsearch.emulator.log import EventLog, Record
from jobsearch.errors import JobSearchError, UpstreamError
from jobsearch.logs import log_fields

logger = logging.getLogger("jobsearch.emulator.tasks")
TaskState = Literal["RUNNING", "FAILED", "STOPPED"]
# Credentials to a real cluster mean nothing locally; no need to warn about them.
_NOT_APPLICABLE = frozenset(
    {"kafka.auth.mode", "kafka.api.key", "kafka.api.secret", "kafka.service.account.id"}
)
_ALSO_HONOURED = frozenset({"input.key.format"})
Partition = tuple[str, int]
# Records read per query; a delivery then costs no read until they are used up.
READ_AHEAD = 256


def unhonoured_properties(config: Mapping[str, str]) -> list[str]:
    """Properties the emulator cannot reproduce, in file order."""
    honoured = {
        info.alias or name for name, info in ConnectorConfig.model_fields.items()
    }
    known = honoured | _NOT_APPLICABLE | _ALSO_HONOURED
    return [key for key in config if key not in known]


def assign(partitions: list[Partition], tasks: int) -> list[list[Partition]]:
    """Round-robin partitions over tasks; tasks left without one are not started."""
    assignments: list[list[Partition]] = [[] for _ in range(tasks)]
    for index, partition in enumerate(partitions):
        assignments[index % tasks].append(partition)
    return [owned for owned in assignments if owned]


class SinkTask:
    """One task: its partitions, its position in each, its state."""

    def __init__(
        self,
        index: int,
        partitions: list[Partition],
        deliverer: Deliverer,
        *,
        poll_seconds: float = 0.2,
    ) -> None:
        self.index = index
        self.partitions = partitions
        self.deliverer = deliverer
        self.poll_seconds = poll_seconds
        self.state: TaskState = "RUNNING"
        self.wakeup = asyncio.Event()

    async def run(self) -> None:
        """Deliver until cancelled or failed; a failure stops this task only."""
        try:
            await self._loop()
        except UpstreamError as exc:
            self.state = "FAILED"
            logger.error(
                "TASK FAILED: delivery stopped until the emulator restarts",
                extra=log_fields(task=self.index, reason=exc.message),
            )
        except JobSearchError:
            self.state = "FAILED"
            logger.exception("task failed", extra=log_fields(task=self.index))

    async def _loop(self) -> None:
        log, group = self.deliverer.log, self.deliverer.names.group
        positions = {
            partition: await asyncio.to_thread(log.committed, group, *partition)
            for partition in self.partitions
        }
        ahead: dict[Partition, list[Record]] = {p: [] for p in self.partitions}
        while True:
            self.wakeup.clear()
            progressed = False
            for partition in self.partitions:
                batch = await self._head(partition, positions[partition], ahead)
                if batch:
                    consumed = await self.deliverer.deliver(batch)
                    positions[partition] = batch[consumed - 1].offset + 1
                    del batch[:consumed]
                    progressed = True
            if not progressed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), self.poll_seconds)

    async def _head(
        self, partition: Partition, position: int, ahead: dict[Partition, list[Record]]
    ) -> list[Record]:
        """The partition's records from `position`, read ahead in one query."""
        buffered = ahead[partition]
        if len(buffered) < self.deliverer.config.batch_max_size:
            start = buffered[-1].offset + 1 if buffered else position
            limit = max(READ_AHEAD, self.deliverer.config.batch_max_size)
            log = self.deliverer.log
            buffered += await asyncio.to_thread(log.read, *partition, start, limit)
        return buffered


class SinkConnector:
    """The running connector: its tasks and their asyncio tasks."""

    def __init__(self, deliverer: Deliverer, *, poll_seconds: float = 0.2) -> None:
        self.deliverer = deliverer
        self.poll_seconds = poll_seconds
        self.tasks: list[SinkTask] = []
        self._running: list[asyncio.Task[None]] = []

    async def start(self, log: EventLog) -> None:
        """Assign every partition of the input topics and start the tasks."""
        config = self.deliverer.config
        self.tasks, self._running = [], []
        partitions = []
        for topic in config.topic_list:
            count = await asyncio.to_thread(log.ensure_topic, topic)
            partitions += [(topic, partition) for partition in range(count)]
        for index, owned in enumerate(assign(partitions, config.tasks_max)):
            task = SinkTask(
                index, owned, self.deliverer, poll_seconds=self.poll_seconds
            )
            self.tasks.append(task)
            self._running.append(asyncio.create_task(task.run()))

    def notify(self) -> None:
        """Wake idle tasks: a record was appended."""
        for task in self.tasks:
            task.wakeup.set()

    @property
    def states(self) -> list[TaskState]:
        """Each task's state, by index."""
        return [task.state for task in self.tasks]

    async def stop(self) -> None:
        """Cancel every task and write the commits of what they delivered.

        A record without an outcome yet is delivered again on the next start.
        """
        for running in self._running:
            running.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        await self.deliverer.committer.close()
        for task in self.tasks:
            task.state = "STOPPED" if task.state == "RUNNING" else task.state
