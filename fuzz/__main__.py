"""`python -m fuzz [--budget SECONDS] [--seed N]`: run every fuzzer, print figures.

Exits 1 when an invariant broke: a 5xx, a hang, a dropped connection, a 4xx without
a JSON `error` and `message`, or an exception in the extractor (escaping, or caught
by its own guard, which then drops every posting on the page).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from fuzz.extractor import fuzz_extractor
from fuzz.harness import Credentials, Stack
from fuzz.rawsocket import Endpoint, run_cases
from fuzz.report import Tally
from fuzz.schema import Budget, Target, fuzz_app

SCHEMA_SHARE = 0.6
EXAMPLES_CAP = 100_000


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fuzzers within the budget; 0 when every invariant held."""
    args = _parser().parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)  # noqa: S311 - a seed, not a secret
    print(f"fuzz: budget={args.budget:.0f}s seed={seed}", flush=True)
    started = time.monotonic()
    credentials = Credentials()
    with (
        tempfile.TemporaryDirectory(prefix="fuzz-") as workdir,
        Stack(Path(workdir), credentials) as stack,
    ):
        tallies = [*_raw(stack, credentials).values()]
        budget = Budget(EXAMPLES_CAP, args.budget * SCHEMA_SHARE / 2, seed)
        tallies += [fuzz_app(target, budget) for target in _targets(stack, credentials)]
    left = max(args.budget - (time.monotonic() - started), 10.0)
    extractor = fuzz_extractor(EXAMPLES_CAP, left, seed)
    for tally in tallies:
        _print(tally.lines())
    _print(extractor.lines())
    extractor_failures = len(extractor.escaped) + sum(extractor.guarded.values())
    failures = sum(tally.failures for tally in tallies) + extractor_failures
    elapsed = time.monotonic() - started
    verdict = "ok" if failures == 0 else f"FAILED ({failures} broken invariants)"
    print(f"fuzz: {verdict} in {elapsed:.0f}s, seed={seed}")
    return 0 if failures == 0 else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds in all")
    parser.add_argument("--seed", type=int, default=None, help="repeat a run")
    return parser


def _targets(stack: Stack, credentials: Credentials) -> list[Target]:
    return [
        Target(
            "producer",
            stack.producer_url,
            {
                "user-jwt": f"Bearer {credentials.user_jwt()}",
                "none": None,
                "forged-jwt": f"Bearer {Credentials().user_jwt()}",
            },
        ),
        Target(
            "sink",
            stack.sink_url,
            {
                "token": f"Bearer {credentials.sink_token}",
                "none": None,
                "wrong-token": f"Bearer {Credentials().sink_token}",
            },
        ),
    ]


def _raw(stack: Stack, credentials: Credentials) -> dict[str, Tally]:
    endpoints = [
        Endpoint(
            "producer",
            stack.producer_url,
            "/jobs-search",
            f"Bearer {credentials.user_jwt()}",
        ),
        Endpoint(
            "sink",
            stack.sink_url,
            "/process-job-search",
            f"Bearer {credentials.sink_token}",
        ),
    ]
    tallies = run_cases(endpoints, stack.requests)
    return {app: tally for app, tally in tallies.items()}


def _print(lines: list[str]) -> None:
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
