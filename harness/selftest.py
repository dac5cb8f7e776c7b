"""``wfconform selftest``: run every broken variant and show that the harness catches it.

For each variant of ``harness.adapters.broken_reference`` it runs, like ``wfconform run
--scenario <catches> --shrink``, the catalog scenario that the variant says catches it,
shrinks the failure and writes it for replay (its record keeps selftest's own, shorter
timeouts, and ``wfconform replay`` reuses them). A variant counts as caught when a clause
it ``breaks`` fails (and, given a ``detect_budget``, when that took at most so many
seconds). Each line gives the seconds to detection (adapter, run and checks) apart from
the shrinking that follows. ``tier`` picks where the variants run: ``embedded`` (their
default: the bug patched into worker OS processes) or ``sim`` (in-process, patched into
one simulation at a time; see ``harness.adapters.broken_reference_sim``). A variant
whose bug does not exist on the tier (its ``tiers``), or whose catching scenario is not
applicable there, is reported ``n/a``: neither caught nor missed. ``clause_table`` then
says, per clause, how many of the variants aimed at it that clause's own check failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.adapters import load_adapter
from harness.failures import Failure, FailureHandler
from harness.runner import RunOptions, run_scenario
from scenarios.capabilities import ALL_CLAUSES
from scenarios.catalog import by_name

ShrinkLine = Callable[[str, int, int, int, float], None]
"""A shrink's progress: (clause, tries, edits kept, size, seconds)."""

__all__ = ["DEFAULT_DETECT_BUDGET", "VariantOutcome", "check_variant", "clause_table",
           "selftest"]

DEFAULT_DETECT_BUDGET = 30.0
"""Seconds from loading a variant to its failed clause, unless the user gives another."""


@dataclass(frozen=True)
class VariantOutcome:
    """How one variant fared: caught or not, by which scenario and clause, how fast."""

    variant: str
    caught: bool
    failure: Failure | None
    detect_seconds: float
    seconds: float
    too_slow: bool = False  # a breaks clause failed, but after the detection budget
    failed: frozenset[str] = frozenset()  # promised clauses that failed on the first run
    witness_lines: int = 0  # history lines of the longest witness of a failed breaks clause
    not_on_tier: str | None = None  # the variant's bug does not exist on this tier: why
    error: str | None = None  # the run errored: the variant was neither caught nor passed

    @property
    def counted(self) -> bool:
        """Whether the outcome counts as caught or missed (a variant not on the tier: no)."""
        return self.not_on_tier is None

    def line(self) -> str:
        if self.not_on_tier is not None:
            return f"  n/a    {self.variant:28} {self.not_on_tier}"
        if self.error is not None:
            return f"  ERROR  {self.variant:28} its scenario errored: {self.error}"
        if self.failure is None:
            return f"  MISSED {self.variant:28} its scenario passed ({self.seconds:.1f} s)"
        mark = "SLOW  " if self.too_slow else "caught" if self.caught else "WRONG "
        shrunk = self.failure.shrunk.describe() if self.failure.shrunk else "not shrunk"
        return (f"  {mark} {self.variant:28} {self.failure.clause} in "
                f"{self.failure.original.scenario.name} detected after "
                f"{self.detect_seconds:.2f} s; then {shrunk}; total {self.seconds:.1f} s; "
                f"witness {self.witness_lines} line(s)\n"
                f"         {self.failure.sentence()[:160]}\n"
                f"         wfconform replay {self.failure.path}")


def check_variant(name: str, out: Path, *, shrink_time: float = 30.0,
                  options: RunOptions | None = None, tier: str | None = None,
                  detect_budget: float | None = None,
                  on_shrink: ShrinkLine | None = None) -> VariantOutcome:
    """Run variant ``name`` on its catalog scenario on ``tier`` (None: embedded); shrink
    and write the failure to ``out/<name>/`` (variants caught by the same scenario must not
    overwrite each other). Caught only within ``detect_budget`` seconds, when given."""
    from harness.adapters.broken_reference import VARIANTS

    variant = VARIANTS[name]
    if (tier or "embedded") not in variant.tiers:
        return VariantOutcome(name, False, None, 0.0, 0.0, not_on_tier=(
            f"not on tier {tier or 'embedded'}: the bug exists on the "
            f"{', '.join(sorted(variant.tiers))} tier only"))
    options = options or RunOptions(chaos_timeout=5.0, heal_timeout=3.0)
    started = time.monotonic()
    factory = load_adapter(variant.spec, tier)
    probe = factory()
    promised = probe.capabilities().promised - probe.capabilities().expected_failures
    handler = FailureHandler(factory, options, frozenset(promised), variant.spec, probe.tier,
                             out / name, shrink_budget=shrink_time, on_shrink=on_shrink)
    run = run_scenario(factory, by_name(variant.catches), options)
    detected = time.monotonic() - started
    if run.status == "not_applicable":  # the scenario needs a fault this tier cannot make
        return VariantOutcome(name, False, None, detected, detected, not_on_tier=(
            f"not on tier {probe.tier}: {variant.catches} is not applicable there "
            f"({'; '.join(run.reasons)})"))
    if run.status == "error":  # not a pass and not a catch: say so, count it as missed
        return VariantOutcome(name, False, None, detected, detected,
                              error="; ".join(run.reasons))
    failure = handler.handle(run, shrink_it=True)
    broken = failure is not None and bool(
        {r.clause for r in failure.run.failed(promised)} & variant.breaks)
    too_slow = broken and detect_budget is not None and detected > detect_budget
    witness = max((len(r.witness) for r in failure.run.failed(promised)
                   if r.clause in variant.breaks), default=0) if failure is not None else 0
    return VariantOutcome(name, broken and not too_slow, failure, detected,
                          time.monotonic() - started, too_slow,
                          frozenset(r.clause for r in run.failed(promised)), witness)


def selftest(names: Iterable[str], out: Path, *, shrink_time: float = 30.0,
             on_outcome: Callable[[VariantOutcome], None] | None = None,
             tier: str | None = None, detect_budget: float | None = None,
             on_shrink: ShrinkLine | None = None) -> list[VariantOutcome]:
    """``check_variant`` for each name, in order (``on_shrink``: a progress line)."""
    outcomes = []
    for name in names:
        outcome = check_variant(name, out, shrink_time=shrink_time, tier=tier,
                                detect_budget=detect_budget, on_shrink=on_shrink)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


def clause_table(outcomes: Iterable[VariantOutcome]) -> str:
    """Per clause: the variants that claim to break it and how many of them that clause's
    check failed on (``caught/total``). A variant caught through another of its clauses
    does not count for this one, so a weak check shows as a short row; variants not on
    the tier are left out. Clauses no variant targets show ``-``."""
    from harness.adapters.broken_reference import VARIANTS

    counted = [o for o in outcomes if o.counted]
    clauses = list(dict.fromkeys([*ALL_CLAUSES, *sorted(
        c for o in counted for c in VARIANTS[o.variant].breaks)]))
    rows = ["| clause | variants | caught/total |", "| --- | --- | --- |"]
    for clause in clauses:
        aimed = [o for o in counted if clause in VARIANTS[o.variant].breaks]
        if not aimed:
            rows.append(f"| {clause} | - | - |")
            continue
        caught = [o for o in aimed if o.caught and clause in o.failed]
        names = ", ".join(o.variant + ("" if o in caught else " (not by this clause)")
                          for o in aimed)
        rows.append(f"| {clause} | {names} | {len(caught)}/{len(aimed)} |")
    return "\n".join(rows)
