"""``run_conformance``: the function other projects call; CLI and pytest are shells over it.

It runs scenarios (the catalog by default) on fresh adapters, merges each clause's
results over the scenarios (fail > pass > unknown; a clause nothing decided is
unknown) and applies the engine's declaration: clauses it does not promise read
"not promised", and a declared expected failure that passes fails the run (strict).

A run can also be untrustworthy without any clause failing: a scenario errored (the
adapter or engine raised something other than a declared ``Unsupported``), or no
promised clause got a verdict at all. ``exit_code`` tells the three outcomes apart
(0 held, 1 a clause failed, 3 untrusted), so a run that checked nothing never exits 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from harness.checks import FAIL, NOT_PROMISED, PASS, UNKNOWN, ClauseResult, merge_results
from harness.runner import AdapterFactory, RunOptions, ScenarioRun, run_scenario
from scenarios.capabilities import ALL_CLAUSES, CLAUSES, Capabilities
from scenarios.scenario import Scenario

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNTRUSTED", "ClauseRow", "ConformanceResult",
           "run_conformance"]

EXIT_OK = 0
EXIT_FAILED = 1  # a promised clause failed, or a declared expected failure passed
EXIT_UNTRUSTED = 3  # a scenario errored, or no promised clause was checked


@dataclass(frozen=True)
class ClauseRow:
    """One row of the conformance matrix.

    ``verdict`` is the merged verdict, or ``not_promised``; ``measured`` keeps the
    merged verdict even then. ``is_failure`` says whether the row fails the run: a
    promised clause that fails, or a declared expected failure that passes (strict).
    """

    clause: str
    text: str
    promised: bool
    expected_failure: bool
    verdict: str
    measured: ClauseResult
    scenarios: tuple[str, ...]
    loose: int = 0  # passing scenarios whose verdict rests on a service fault's loose bound

    @property
    def is_failure(self) -> bool:
        if self.expected_failure:
            return self.measured.verdict == PASS
        return self.promised and self.measured.verdict == FAIL

    @property
    def reason(self) -> str:
        """One sentence, prefixed by the scenario that decided the verdict."""
        first = self.measured.scenario.split(", ")[0]
        said = f"{first}: {self.measured.sentence}" if first else self.measured.sentence
        if self.expected_failure:
            if self.measured.verdict == PASS:
                return ("declared as an expected failure but it passed (strict): "
                        "remove it from expected_failures")
            return f"expected failure; {said}"
        if not self.promised:
            return f"not promised (measured {self.measured.verdict}); {said}"
        if self.loose:
            said += (f" [{self.loose} scenario(s) passed on a loose bound: extra runs "
                     "excused by a broker or database fault]")
        return said


@dataclass(frozen=True)
class ConformanceResult:
    """The matrix and every scenario run behind it."""

    engine: str
    tier: str
    capabilities: Capabilities
    rows: tuple[ClauseRow, ...]
    runs: tuple[ScenarioRun, ...]
    seconds: float
    stopped: int = 0  # scenarios not run: ``maxfail`` failing runs were reached first

    @property
    def passed(self) -> int:
        return sum(1 for row in self.rows if row.verdict == PASS and not row.is_failure)

    @property
    def failed(self) -> int:
        return sum(1 for row in self.rows if row.is_failure)

    @property
    def errors(self) -> tuple[ScenarioRun, ...]:
        """Runs the adapter or engine crashed (their clauses are not in the matrix)."""
        return tuple(run for run in self.runs if run.status == "error")

    @property
    def checked(self) -> int:
        """Promised (or expected-failure) clauses that got a pass or a fail."""
        return sum(1 for row in self.rows if (row.promised or row.expected_failure)
                   and row.measured.verdict in (PASS, FAIL))

    @property
    def untrusted(self) -> str | None:
        """Why the run cannot be trusted to have checked the engine, or None."""
        if self.errors:
            return (f"{len(self.errors)} of {len(self.runs)} scenario(s) errored; their "
                    "clauses were not checked")
        if not self.checked:
            return "no promised clause was checked (every one is unknown or not applicable)"
        return None

    @property
    def ok(self) -> bool:
        """Every promised clause held, nothing errored, and something was checked."""
        return self.failed == 0 and self.untrusted is None

    @property
    def exit_code(self) -> int:
        if self.failed:
            return EXIT_FAILED
        return EXIT_UNTRUSTED if self.untrusted else EXIT_OK

    def failing_runs(self) -> tuple[ScenarioRun, ...]:
        """Runs with a failing promised clause (what to write out for replay)."""
        promised = self.capabilities.promised - self.capabilities.expected_failures
        return tuple(run for run in self.runs if run.failed(frozenset(promised)))


class RunResults(Protocol):
    """What the matrix needs of a run: a ``ScenarioRun``, or one read back from disk."""

    @property
    def status(self) -> str: ...

    @property
    def results(self) -> tuple[ClauseResult, ...]: ...


def matrix(capabilities: Capabilities, runs: Iterable[RunResults]) -> tuple[ClauseRow, ...]:
    """Merge per-clause results over runs and apply the engine's declaration."""
    per_clause: dict[str, list[ClauseResult]] = {c: [] for c in ALL_CLAUSES}
    errored = 0
    for run in runs:
        if run.status == "error":  # told once per distinct error, not once per row
            errored += 1
            continue
        if run.status == "aborted":  # what ran may fail it, but cannot pass it
            results = [r for r in run.results if r.verdict == FAIL]
        else:
            results = list(run.results)
        for result in results:
            per_clause[result.clause].append(result)
    rows = []
    for clause in ALL_CLAUSES:
        merged = merge_results(clause, per_clause[clause])
        if errored and merged.verdict == UNKNOWN and not merged.scenario:
            merged = replace(merged, sentence=f"{merged.sentence}; {errored} scenario(s) "
                             "errored before checking it")
        promised = clause in capabilities.promised
        expected = clause in capabilities.expected_failures
        verdict = merged.verdict if promised or expected else NOT_PROMISED
        names = tuple(r.scenario for r in per_clause[clause] if r.counts and r.scenario)
        loose = sum(1 for r in per_clause[clause] if r.loose and r.verdict == PASS)
        rows.append(ClauseRow(clause, CLAUSES[clause], promised, expected, verdict, merged,
                              tuple(dict.fromkeys(names)), loose))
    return tuple(rows)


def run_conformance(
    adapter_factory: AdapterFactory,
    scenarios: Iterable[Scenario] | None = None,
    *,
    options: RunOptions | None = None,
    on_run: Callable[[ScenarioRun], None] | None = None,
    maxfail: int = 0,
) -> ConformanceResult:
    """Run ``scenarios`` (default: the catalog) against fresh adapters; build the matrix.

    ``adapter_factory`` returns a new, unopened adapter each call (one per scenario);
    ``on_run`` is called after each scenario, e.g. to print progress. ``maxfail``
    (pytest's ``--maxfail``; 0: never) stops after that many runs failed a promised
    clause or errored; ``stopped`` then counts the scenarios left out.
    """
    if scenarios is None:
        from scenarios.catalog import CATALOG

        scenarios = CATALOG
    started = time.monotonic()
    probe = adapter_factory()
    capabilities, engine, tier = probe.capabilities(), probe.name, probe.tier
    promised = frozenset(capabilities.promised - capabilities.expected_failures)
    runs: list[ScenarioRun] = []
    todo = list(scenarios)
    bad = 0
    for scenario in todo:
        run = run_scenario(adapter_factory, scenario, options)
        runs.append(run)
        if on_run is not None:
            on_run(run)
        bad += run.status == "error" or bool(run.failed(promised))
        if maxfail and bad >= maxfail:
            break
    return ConformanceResult(engine, tier, capabilities, matrix(capabilities, runs),
                             tuple(runs), time.monotonic() - started, len(todo) - len(runs))
