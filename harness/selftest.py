"""``wfconform selftest``: run every broken variant and show that the harness catches it.

For each variant of ``harness.adapters.broken_reference`` it runs, like ``wfconform run
--scenario <catches> --shrink``, the catalog scenario that the variant says catches it,
shrinks the failure and writes it for replay. A variant counts as caught when a clause
it ``breaks`` fails. The time per variant is the figure the issue asks for: detection
plus shrinking.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.adapters import load_adapter
from harness.failures import Failure, FailureHandler
from harness.runner import RunOptions, run_scenario
from scenarios.catalog import by_name

__all__ = ["VariantOutcome", "check_variant", "selftest"]


@dataclass(frozen=True)
class VariantOutcome:
    """How one variant fared: caught or not, by which scenario and clause, how fast."""

    variant: str
    caught: bool
    failure: Failure | None
    detect_seconds: float
    seconds: float

    def line(self) -> str:
        if self.failure is None:
            return f"  MISSED {self.variant:28} its scenario passed ({self.seconds:.1f} s)"
        mark = "caught" if self.caught else "WRONG "
        shrunk = self.failure.shrunk.describe() if self.failure.shrunk else "not shrunk"
        return (f"  {mark} {self.variant:28} {self.failure.clause} in "
                f"{self.failure.original.scenario.name} after {self.detect_seconds:.1f} s; "
                f"{shrunk}; total {self.seconds:.1f} s\n"
                f"         {self.failure.sentence()[:160]}\n"
                f"         wfconform replay {self.failure.path}")


def check_variant(name: str, out: Path, *, shrink_time: float = 30.0,
                  options: RunOptions | None = None) -> VariantOutcome:
    """Run variant ``name`` on its catalog scenario; shrink and write the failure to
    ``out/<name>/`` (variants caught by the same scenario must not overwrite each other)."""
    from harness.adapters.broken_reference import VARIANTS

    variant = VARIANTS[name]
    options = options or RunOptions(chaos_timeout=5.0, heal_timeout=3.0)
    started = time.monotonic()
    factory = load_adapter(variant.spec)
    probe = factory()
    promised = probe.capabilities().promised - probe.capabilities().expected_failures
    handler = FailureHandler(factory, options, frozenset(promised), variant.spec, probe.tier,
                             out / name, shrink_budget=shrink_time)
    run = run_scenario(factory, by_name(variant.catches), options)
    detected = time.monotonic() - started
    failure = handler.handle(run, shrink_it=True)
    caught = failure is not None and bool(
        {r.clause for r in failure.run.failed(promised)} & variant.breaks)
    return VariantOutcome(name, caught, failure, detected, time.monotonic() - started)


def selftest(names: Iterable[str], out: Path, *, shrink_time: float = 30.0,
             on_outcome: Callable[[VariantOutcome], None] | None = None
             ) -> list[VariantOutcome]:
    """``check_variant`` for each name, in order."""
    outcomes = []
    for name in names:
        outcome = check_variant(name, out, shrink_time=shrink_time)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes
