"""Figures of a fuzz run: what each target was sent and how it answered."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

EXAMPLES_KEPT = 5


class OutOfTimeError(Exception):
    """Raised inside a hypothesis test to end its run when the time share is spent."""


@dataclass(frozen=True)
class Answer:
    """What one request got back; `status` is None when no status line came."""

    status: int | None
    body: bytes = b""
    timed_out: bool = False
    protocol_level: bool = False


def names_problem(body: bytes) -> bool:
    """True when the body is a JSON object with string `error` and `message`."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(data, dict)
        and isinstance(data.get("error"), str)
        and isinstance(data.get("message"), str)
    )


@dataclass
class Tally:
    """Figures for one target, with a few labelled examples of each failure."""

    name: str
    tried: int = 0
    not_sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    unnamed_4xx: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    protocol_4xx: int = 0
    closed: int = 0

    def add(self, label: str, answer: Answer, *, must_answer: bool = True) -> None:
        """Count one request; `label` reproduces it when it broke an invariant."""
        self.tried += 1
        if answer.timed_out:
            self.hangs.append(label)
            return
        if answer.status is None:
            if must_answer:
                self.dropped.append(label)
            else:
                self.closed += 1
            return
        self.statuses[answer.status] += 1
        if answer.status >= 500:
            self.server_errors.append(f"{answer.status} {label}")
        elif answer.status >= 400 and not names_problem(answer.body):
            if answer.protocol_level:
                # uvicorn refused the bytes before any app code ran.
                self.protocol_4xx += 1
            else:
                self.unnamed_4xx.append(f"{answer.status} {label}")

    @property
    def failures(self) -> int:
        """5xx answers, hangs and 4xx answers that name no problem."""
        broken = self.server_errors, self.hangs, self.unnamed_4xx, self.dropped
        return sum(len(examples) for examples in broken)

    def lines(self) -> list[str]:
        """The figures as printable lines, with up to five examples per failure."""
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        lines = [
            f"{self.name}: tried={self.tried} not_sent={self.not_sent} "
            f"5xx={len(self.server_errors)} hangs={len(self.hangs)} "
            f"4xx_without_json_error={len(self.unnamed_4xx)} "
            f"dropped={len(self.dropped)} closed_as_expected={self.closed} "
            f"protocol_level_4xx={self.protocol_4xx}",
            f"  statuses {statuses or '-'}",
        ]
        for title, examples in (
            ("5xx", self.server_errors),
            ("hang", self.hangs),
            ("4xx without a JSON error", self.unnamed_4xx),
            ("closed without an answer", self.dropped),
        ):
            lines += [f"  {title}: {example}" for example in examples[:EXAMPLES_KEPT]]
        return lines
