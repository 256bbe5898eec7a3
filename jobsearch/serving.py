"""Serve an ASGI app with uvicorn inside the running event loop.

`jobsearch dev`, `jobsearch demo` and the end-to-end tests run several apps in one
process. Each binds its own socket first, so port 0 gives a free port that is known
before any other app needs it, and none of them takes over the process's signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from jobsearch.errors import JobSearchError

STARTUP_TIMEOUT = 20.0
SHUTDOWN_TIMEOUT = 10.0


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ServerStartError(JobSearchError):
    """An embedded server did not start."""


class BackgroundServer:
    """One app on one loopback socket, started and stopped by its owner."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = port

    @property
    def url(self) -> str:
        """The base URL the app answers on."""
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        """Bind, run the lifespan and start accepting; raises `ServerStartError`."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # IPPROTO_TCP, not 0: only then does asyncio set TCP_NODELAY on accepted
        # connections, and without it every small answer waits ~40 ms for an ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise ServerStartError(
                f"cannot listen on {self._host}:{self._port}"
            ) from exc
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=5,
            access_log=False,
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        try:
            await self._wait_started()
        except BaseException:
            sock.close()
            await self.stop()
            raise

    async def _wait_started(self) -> None:
        assert self._server is not None
        assert self._task is not None
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not self._server.started:
                if self._task.done():
                    raise ServerStartError(f"the app on port {self.port} did not start")
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Finish open requests, run the shutdown lifespan, close the socket."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                await self._task
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
        finally:
            self._server = None
            self._task = None

    async def __aenter__(self) -> BackgroundServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


def lazy_app(factory: Callable[[], Any]) -> Callable[[str], Any]:
    """A module `__getattr__` whose `app` is built by `factory` on first access.

    `uvicorn package:app` then works, while importing the package reads no settings.
    """
    build = functools.cache(factory)

    def module_getattr(name: str) -> Any:
        if name == "app":
            return build()
        raise AttributeError(name)

    return module_getattr
