"""A deterministic shrinker: the smallest variant of a failing scenario that still fails.

Why our own rather than Hypothesis's: a failure found by ``generate(seed)``, by the
catalog or on a slow tier must shrink too, and each try is a real engine run (a second
on the embedded tier), so the search must be short and must not depend on a Hypothesis
database. The shrinker is greedy over candidate edits, coarse first (drop halves of the
faults and launch operations, then single ones, then steps, calls, outputs, unused
definitions, then simpler values and fault parameters); a candidate is kept when its run
still fails *the same clause*. Same scenario, same engine behaviour -> same result.

The edits live in ``harness.shrink_edits``; this module holds the search and its budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from harness.runner import ScenarioRun
from harness.shrink_edits import candidates, size
from scenarios.scenario import Scenario

__all__ = ["ShrinkProgress", "ShrinkResult", "shrink"]


@dataclass(frozen=True)
class ShrinkResult:
    """The smallest still-failing scenario found, its run, and what the search cost.

    ``complete`` is False when the budget ran out before no edit helped any more: the
    scenario still fails ``clause`` but may not be minimal.
    """

    scenario: Scenario
    run: ScenarioRun
    clause: str
    tries: int
    steps: int
    seconds: float
    complete: bool
    before: int
    after: int

    def describe(self) -> str:
        state = "" if self.complete else ", budget exhausted before a fixpoint"
        return (f"shrunk from size {self.before} to {self.after} in {self.steps} step(s), "
                f"{self.tries} run(s), {self.seconds:.1f} s{state}")


ShrinkProgress = Callable[[int, int, int, float], None]
"""Called after every try: (tries, steps kept, current size, seconds so far)."""


def shrink(scenario: Scenario, run: ScenarioRun, clause: str,
           rerun: Callable[[Scenario], ScenarioRun], *, max_seconds: float = 60.0,
           max_tries: int = 200, on_try: ShrinkProgress | None = None) -> ShrinkResult:
    """Shrink ``scenario`` (whose ``run`` fails ``clause``) with ``rerun`` as the oracle.

    ``rerun(candidate)`` runs a candidate on a fresh engine; the candidate is kept when
    ``clause`` is among its failed clauses. Stops at a fixpoint, after ``max_tries``, or
    before a try that would end past ``max_seconds`` (judged by the slowest run so far).
    ``on_try`` (a progress line: shrinking can take minutes) is called after every try.
    """
    started = time.monotonic()
    current, current_run = scenario, run
    seen = {scenario.to_json()}
    tries = steps = 0
    slowest = run.seconds  # a try that cannot finish within the budget is not started
    complete = False
    while True:
        improved = False
        for candidate in candidates(current):
            if tries >= max_tries or time.monotonic() - started + slowest > max_seconds:
                break
            key = candidate.to_json()
            if key in seen:
                continue
            seen.add(key)
            tries += 1
            before = time.monotonic()
            attempt = rerun(candidate)
            slowest = max(slowest, time.monotonic() - before)
            kept = clause in {r.clause for r in attempt.failed()}
            if kept:
                current, current_run, improved = candidate, attempt, True
                steps += 1
            if on_try is not None:
                on_try(tries, steps, size(current), time.monotonic() - started)
            if kept:
                break
        else:
            complete = not improved
        if not improved:
            break
    note = f"shrunk by wfconform from {scenario.name!r}: still fails {clause}"
    if current is not scenario:
        current = replace(current, description=note)
    return ShrinkResult(current, current_run, clause, tries, steps,
                        time.monotonic() - started, complete, size(scenario), size(current))
