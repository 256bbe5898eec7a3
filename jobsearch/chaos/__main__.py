"""`python -m jobsearch.chaos --n 200 --json out.json`: run faults, print figures."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from rich.console import Console

from jobsearch.chaos.run import ChaosConfig, run_chaos


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m jobsearch.chaos", description=__doc__
    )
    parser.add_argument("--n", type=int, default=200, help="searches to produce")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--seed", type=int, default=7, help="seed of every fault")
    parser.add_argument(
        "--in-flight", type=int, default=160, help="unsettled searches at most"
    )
    parser.add_argument(
        "--time-limit", type=float, default=840.0, help="seconds for the whole run"
    )
    parser.add_argument(
        "--no-model", action="store_true", help="enrich locally, without the model"
    )
    parser.add_argument("--workdir", type=Path, help="where temporary files go")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the fault run; exit 1 when an invariant broke."""
    args = _arguments(sys.argv[1:] if argv is None else argv)
    # Every injected fault makes some component log; only the figures matter here.
    logging.basicConfig(level=logging.CRITICAL)
    config = ChaosConfig(
        n=args.n,
        seed=args.seed,
        in_flight=args.in_flight,
        time_limit_seconds=args.time_limit,
        with_model=not args.no_model,
        workdir=args.workdir,
    )
    report = asyncio.run(run_chaos(config))
    if args.json:
        report.write(args.json)
    report.print(Console())
    return 1 if report.violations() else 0


if __name__ == "__main__":
    sys.exit(main())
