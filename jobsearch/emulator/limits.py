"""Confluent Cloud's fixed per-cluster REST produce limits (Basic/Standard clusters)."""

from __future__ import annotations

import time
from collections.abc import Callable

CONNECTION_REQUESTS_PER_SECOND = 25
STREAMED_RECORDS_PER_SECOND = 1000

# What Jetty's DoSFilter answers: HTML, and no Retry-After header.
TOO_MANY_REQUESTS_HTML = """<html>
<head>
<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
<title>Error 429 Too Many Requests</title>
</head>
<body><h2>HTTP ERROR 429 Too Many Requests</h2>
<table>
<tr><th>URI:</th><td>{path}</td></tr>
<tr><th>STATUS:</th><td>429</td></tr>
<tr><th>MESSAGE:</th><td>Too Many Requests</td></tr>
<tr><th>SERVLET:</th><td>default</td></tr>
</table>
</body>
</html>
"""


class WindowCounter:
    """Allow at most `limit` events per whole second of `clock`."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._window = -1
        self._count = 0

    def allow(self) -> bool:
        """Count one event; False when this second's budget is spent."""
        window = int(self._clock())
        if window != self._window:
            self._window, self._count = window, 0
        self._count += 1
        return self._count <= self.limit


class ClusterLimits:
    """Both REST limits of one cluster."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.connections = WindowCounter(CONNECTION_REQUESTS_PER_SECOND, clock)
        self.records = WindowCounter(STREAMED_RECORDS_PER_SECOND, clock)
