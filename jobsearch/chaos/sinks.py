"""Two sink instances behind the proxy, either of which can be killed mid-request.

A kill aborts every open connection and cancels every request task at once, so the
search being worked on stops between two awaits with its lease still held, as when a
machine dies. The instance then comes back on the same port with a fresh app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from starlette.types import ASGIApp

from jobsearch.logs import log_fields
from jobsearch.serving import SHUTDOWN_TIMEOUT, BackgroundServer, ServerStartError

logger = logging.getLogger("jobsearch.chaos.sinks")
RESTART_ATTEMPTS = 5


class KillableServer(BackgroundServer):
    """A `BackgroundServer` that can also die abruptly."""

    async def kill(self) -> None:
        """Reset every connection and cancel every request, then close the socket."""
        server, task = self._server, self._task
        if server is None or task is None:
            return
        for connection in list(server.server_state.connections):
            connection.transport.abort()
        for request in list(server.server_state.tasks):
            request.cancel()
        server.should_exit = True
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                await task
        except TimeoutError:
            task.cancel()
        finally:
            self._server = None
            self._task = None


class SinkPool:
    """The sink instances, which of them are up, and their kills and restarts."""

    def __init__(
        self,
        build: Callable[[int], ASGIApp],
        *,
        size: int,
        rng: random.Random,
        restart_delay: tuple[float, float] = (0.2, 1.0),
    ) -> None:
        self._build = build
        self._size = size
        self._rng = rng
        self._restart_delay = restart_delay
        self.servers: list[KillableServer] = []
        self.live: list[bool] = []
        self.kills = 0
        self.restart_failures = 0
        self._killing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start every instance on its own free port."""
        for index in range(self._size):
            server = KillableServer(self._build(index))
            await server.start()
            self.servers.append(server)
            self.live.append(True)

    def pick(self) -> tuple[int, str] | None:
        """A live instance chosen at random, as a load balancer would."""
        up = [index for index, alive in enumerate(self.live) if alive]
        if not up:
            return None
        index = self._rng.choice(up)
        return index, self.servers[index].url

    def kill_soon(self, index: int, delay: float) -> bool:
        """Kill instance `index` after `delay` s unless a kill is under way."""
        if self._killing is not None and not self._killing.done():
            return False
        self._killing = asyncio.create_task(self._kill_and_restart(index, delay))
        return True

    async def _kill_and_restart(self, index: int, delay: float) -> None:
        await asyncio.sleep(delay)
        self.live[index] = False
        await self.servers[index].kill()
        self.kills += 1
        await asyncio.sleep(self._rng.uniform(*self._restart_delay))
        await self._restart(index, self.servers[index].port)

    async def _restart(self, index: int, port: int) -> None:
        for attempt in range(1, RESTART_ATTEMPTS + 1):
            server = KillableServer(self._build(index), port=port)
            try:
                await server.start()
            except ServerStartError:
                self.restart_failures += 1
                logger.warning(
                    "sink restart failed", extra=log_fields(attempt=attempt, port=port)
                )
                await asyncio.sleep(0.2 * attempt)
                continue
            self.servers[index] = server
            self.live[index] = True
            return

    async def stop(self) -> None:
        """Let a kill in progress finish, then stop every instance."""
        if self._killing is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._killing
        for server in self.servers:
            await server.stop()
