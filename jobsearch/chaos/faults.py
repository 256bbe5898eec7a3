"""Fault choices and the faulty store the sink instances write through.

Every injector rolls its own `Dice`, so one seed reproduces the same mix of faults
(their timing still depends on the scheduler). Switching the dice off ends the fault
phase everywhere at once.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from jobsearch.errors import StoreError
from jobsearch.store import Store
from jobsearch.store.forwarding import ForwardingStore

T = TypeVar("T")


class Dice:
    """Picks at most one named fault per roll, with the given probabilities."""

    def __init__(self, weights: Mapping[str, float], *, seed: int) -> None:
        if sum(weights.values()) > 1:
            raise ValueError("fault probabilities add up to more than 1")
        self.weights = dict(weights)
        self.enabled = True
        self.counts: Counter[str] = Counter()
        self.rng = random.Random(seed)  # noqa: S311 - fault choices, not secrets

    def roll(self) -> str | None:
        """A fault name, or None for a clean call (always None once disabled)."""
        if not self.enabled:
            return None
        point = self.rng.random()
        for name, weight in self.weights.items():
            point -= weight
            if point < 0:
                self.counts[name] += 1
                return name
        return None


class FaultyStore(ForwardingStore):
    """A `Store` whose writes and reads fail now and then, before or after the call.

    `fail_after` means the call took effect and only its answer was lost, as when a
    database commits and the connection drops before the reply arrives.
    """

    def __init__(self, inner: Store, dice: Dice) -> None:
        super().__init__(inner)
        self._dice = dice

    async def _write(self, call: Callable[[], Awaitable[T]]) -> T:
        fault = self._dice.roll()
        if fault == "fail_before":
            raise StoreError("injected store fault before the call")
        result = await call()
        if fault == "fail_after":
            raise StoreError("injected store fault after the call")
        return result

    _read = _write
