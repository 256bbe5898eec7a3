"""The fault run: the whole flow under injected faults, with nothing lost."""

from __future__ import annotations

from jobsearch.chaos.report import ChaosReport
from jobsearch.chaos.run import ChaosConfig, run_chaos

__all__ = ["ChaosConfig", "ChaosReport", "run_chaos"]
