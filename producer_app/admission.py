"""Admission control: how many searches a caller, and all callers, may start.

Every search spends money on search and model calls, so the producer refuses a burst
before it reaches Kafka: a token bucket per user (or per client address for anonymous
searches) and one global bucket. Buckets live in this process; with several workers
each enforces its own share.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED_CALLERS = 10_000


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Admission:
    """Per-caller and global limits on starting searches."""

    def __init__(
        self,
        *,
        per_caller_per_minute: float,
        per_caller_burst: int,
        global_per_second: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._caller_rate = per_caller_per_minute / 60
        self._caller_burst = per_caller_burst
        self._clock = clock
        now = clock()
        burst = max(1.0, global_per_second)
        self._global = TokenBucket(burst, global_per_second, burst, now)
        self._callers: OrderedDict[str, TokenBucket] = OrderedDict()

    def admit(self, caller: str) -> int:
        """0 when the search may start, else whole seconds to wait (at least 1)."""
        now = self._clock()
        wait = self._bucket(caller, now).take(now)
        if not wait:
            wait = self._global.take(now)
        return math.ceil(wait) if wait else 0

    def admit_global(self) -> int:
        """Like `admit`, counting only against the global bucket."""
        wait = self._global.take(self._clock())
        return math.ceil(wait) if wait else 0

    def _bucket(self, caller: str, now: float) -> TokenBucket:
        bucket = self._callers.get(caller)
        if bucket is None:
            burst = float(self._caller_burst)
            bucket = TokenBucket(burst, self._caller_rate, burst, now)
            self._callers[caller] = bucket
            if len(self._callers) > MAX_TRACKED_CALLERS:
                self._callers.popitem(last=False)
        else:
            self._callers.move_to_end(caller)
        return bucket
