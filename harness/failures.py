"""What ``run``, ``fuzz`` and ``selftest`` do with a failing scenario: pick, shrink, write.

One place decides which clause a failure is "about" (the most specific one that
failed, so a wrong cache hit is reported as K3, not as the C4 output difference it also
causes), shrinks it while that clause keeps failing, and writes the scenario, its
history and its failure record (with the run options it was found with) so that
``wfconform replay PATH`` reruns it under those options and says whether it reproduced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from harness.results import FailureRecord, write_failure
from harness.runner import AdapterFactory, RunOptions, ScenarioRun, run_scenario
from harness.shrink import ShrinkProgress, ShrinkResult, shrink
from scenarios.scenario import Scenario

__all__ = ["ROOT_CAUSE_ORDER", "Failure", "FailureHandler", "failing_clauses",
           "target_clause"]

ROOT_CAUSE_ORDER = ("K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "N1", "N2", "N3", "N4",
                    "C2", "C3", "C5", "C6", "C1", "P1", "P2", "L2", "L1", "C4")
"""Most specific first: C4 (outputs differ) and L1 (stuck) are usually consequences.
Every clause of ``harness.checks.ALL_CLAUSES`` is here (a test says so); one missing
(P2 was, until a Prefect campaign failed it, 2026-12-04) crashed ``fuzz`` with a bare
StopIteration, so ``target_clause`` also falls back to the first failed clause by name."""


def target_clause(run: ScenarioRun, promised: frozenset[str]) -> str | None:
    """The clause a failing run is about: the scenario's own clause if it failed, else the
    first failed promised clause in ``ROOT_CAUSE_ORDER`` (one not listed there: the first
    by name); None if nothing promised failed."""
    failed = {r.clause for r in run.failed(promised)}
    if not failed:
        return None
    if run.scenario.clause in failed:
        return run.scenario.clause
    return next((c for c in ROOT_CAUSE_ORDER if c in failed), min(failed))


def failing_clauses(run: ScenarioRun, promised: frozenset[str]) -> tuple[str, ...]:
    """Every failed promised clause of ``run``, ``target_clause`` first, then the others in
    ``ROOT_CAUSE_ORDER``: fuzz counts, shrinks and writes each of them."""
    failed = {r.clause for r in run.failed(promised)}
    first = target_clause(run, promised)
    if first is None:
        return ()
    rest = [c for c in ROOT_CAUSE_ORDER if c in failed and c != first]
    rest += sorted(failed - {first, *rest})
    return (first, *rest)


@dataclass(frozen=True)
class Failure:
    """A failing run, the clause it is about, its shrunk form and where it was written."""

    original: ScenarioRun
    clause: str
    shrunk: ShrinkResult | None
    path: Path | None

    @property
    def run(self) -> ScenarioRun:
        """The run of the scenario that was written (the shrunk one when shrinking ran)."""
        return self.shrunk.run if self.shrunk is not None else self.original

    def sentence(self) -> str:
        for result in self.run.failed():
            if result.clause == self.clause:
                return result.sentence
        return ""


MIN_RERUNS = 12
"""A failure's shrink may always take this many reruns of its scenario while any shrink
budget is left (``FailureHandler._budget``)."""


class FailureHandler:
    """Shrinks and writes failures for one engine; ``shrink_budget`` is shared by all.

    ``engine``/``tier`` are recorded so that ``wfconform replay PATH`` reruns the failure
    on the engine that failed, without the user repeating ``--engine``. ``deadline`` (a
    ``time.monotonic()`` value; fuzz's time box) caps each shrink too, but a failure found
    at the end still gets ``grace`` seconds (or two reruns): it must not stay unshrunk.
    ``on_shrink(clause, tries, steps, size, seconds)`` is called after every shrink try.
    """

    def __init__(self, factory: AdapterFactory, options: RunOptions, promised: frozenset[str],
                 engine: str, tier: str, out: Path, shrink_budget: float = 60.0,
                 max_tries: int = 200, deadline: float | None = None, grace: float = 5.0,
                 on_shrink: Callable[[str, int, int, int, float], None] | None = None
                 ) -> None:
        self.factory = factory
        self.options = options
        self.promised = promised
        self.engine = engine
        self.tier = tier
        self.out = out
        self.shrink_left = shrink_budget
        self.max_tries = max_tries
        self.deadline = deadline
        self.grace = grace
        self.on_shrink = on_shrink

    def _budget(self, run: ScenarioRun) -> float:
        """Seconds the next shrink may take: what is left of the shared budget, but while
        any is left at least ``MIN_RERUNS`` reruns of ``run`` (on an engine that takes
        5 s a scenario, 60 s allowed a handful of tries: the budget scales with the
        scenario's time); and no more than the time box leaves, but at least ``grace``
        and two reruns of ``run``."""
        scaled = max(self.shrink_left, MIN_RERUNS * run.seconds) if self.shrink_left > 0 \
            else self.shrink_left
        if self.deadline is None:
            return scaled
        boxed = max(self.deadline - time.monotonic(), self.grace, 2.2 * run.seconds)
        return min(scaled, boxed)

    def handle(self, run: ScenarioRun, *, shrink_it: bool, seed: int | None = None,
               name: str | None = None, clause: str | None = None) -> Failure | None:
        """Shrink (when asked and budget is left) and write ``run``; None if it passed.
        ``clause``: the failed clause to keep failing while shrinking (default: the one
        ``target_clause`` picks)."""
        clause = clause or target_clause(run, self.promised)
        if clause is None:
            return None
        shrunk = None
        budget = self._budget(run)
        if shrink_it and budget > 0:
            started = time.monotonic()
            progress: ShrinkProgress | None = None
            if self.on_shrink is not None:
                report, about = self.on_shrink, clause

                def progress(tries: int, steps: int, size: int, seconds: float) -> None:
                    report(about, tries, steps, size, seconds)
            try:
                shrunk = shrink(run.scenario, run, clause, self._rerun,
                                max_seconds=budget, max_tries=self.max_tries,
                                on_try=progress)
            except KeyboardInterrupt:  # keep the failure found so far, then stop
                self._write(run, None, seed, name)
                raise
            finally:
                self.shrink_left -= time.monotonic() - started
        path = self._write(run, shrunk, seed, name)
        return Failure(run, clause, shrunk, path)

    def _write(self, run: ScenarioRun, shrunk: ShrinkResult | None, seed: int | None,
               name: str | None) -> Path:
        final = shrunk.run if shrunk is not None else run
        failed = final.failed(self.promised)
        record = FailureRecord.of_run(self.engine, self.tier, final, failed, self.options,
                                      seed, shrunk.describe() if shrunk is not None else "")
        if shrunk is not None:
            final = _with_scenario(final, shrunk)
        return write_failure(self.out, final, record, name)

    def _rerun(self, candidate: Scenario) -> ScenarioRun:
        return run_scenario(self.factory, candidate, self.options)


def _with_scenario(run: ScenarioRun, shrunk: ShrinkResult) -> ScenarioRun:
    """The run with the shrunk scenario's final form (its description names the origin)."""
    return replace(run, scenario=shrunk.scenario)
