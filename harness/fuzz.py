"""``fuzz``: run generated scenarios against an engine until a time box is spent.

Each scenario runs on a fresh adapter exactly as in ``run``. The first failure of each
clause is shrunk (``harness.shrink``) and written as a scenario JSON with its history and
failure record; later failures of an already-reported clause are counted, not shrunk
again, so one bug does not eat the time box. The loop stops starting scenarios at
``max_time`` (a failure found before that is still shrunk, within ``shrink_time``), after
``max_failures`` distinct failing clauses, or on Ctrl-C (what the current run started is
cleaned up by the runner, and the summary is still returned).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from harness.errors import UsageError
from harness.failures import Failure, FailureHandler, target_clause
from harness.results import ResultsDir
from harness.runner import AdapterFactory, RunOptions, ScenarioRun, run_scenario
from harness.sources import hypothesis_batches, knobs_for, seeded
from scenarios.scenario import Scenario

__all__ = ["FuzzOptions", "FuzzStats", "fuzz"]

GENERATORS = ("seeded", "hypothesis")


@dataclass(frozen=True)
class FuzzOptions:
    """The time box and the generator; ``seed`` makes the whole campaign reproducible."""

    max_time: float
    seed: int
    generator: str = "seeded"
    max_steps: int = 8
    shrink_time: float = 60.0
    max_failures: int = 0  # stop after this many distinct failing clauses; 0: never
    run: RunOptions = field(default_factory=RunOptions)

    def __post_init__(self) -> None:
        if self.generator not in GENERATORS:
            raise UsageError("--generator", self.generator, f"one of {', '.join(GENERATORS)}")
        if not self.max_time > 0:
            raise UsageError("--max-time", self.max_time, "a positive number of seconds")
        if self.max_steps < 1 or self.max_failures < 0:
            raise UsageError("--max-steps/--max-failures", (self.max_steps, self.max_failures),
                             "max-steps of at least 1 and max-failures of at least 0")


@dataclass
class FuzzStats:
    """Counters of a campaign, updated as it goes (progress reads them)."""

    seed: int
    started: float = field(default_factory=time.monotonic)
    scenarios: int = 0
    not_applicable: int = 0
    errors: int = 0
    failing_runs: int = 0
    failures: list[Failure] = field(default_factory=list)
    interrupted: bool = False
    ended: float | None = None

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        return self.scenarios / self.seconds if self.seconds > 0 else 0.0


def _source(options: FuzzOptions, factory: AdapterFactory) -> Iterator[tuple[int, Scenario]]:
    knobs = knobs_for(factory(), options.max_steps)
    if options.generator == "hypothesis":
        return hypothesis_batches(options.seed, knobs, "deep")
    return seeded(options.seed, knobs)


def fuzz(factory: AdapterFactory, options: FuzzOptions, handler: FailureHandler,
         results: ResultsDir | None = None,
         on_run: Callable[[FuzzStats, ScenarioRun], None] | None = None,
         on_failure: Callable[[Failure], None] | None = None) -> FuzzStats:
    """Run the campaign (see module docstring); returns its counters and failures."""
    stats = FuzzStats(options.seed)
    deadline = stats.started + options.max_time
    reported: set[str] = set()
    try:
        for seed, scenario in _source(options, factory):
            if time.monotonic() >= deadline:
                break
            run = run_scenario(factory, scenario, options.run)
            stats.scenarios += 1
            stats.not_applicable += run.status == "not_applicable"
            stats.errors += run.status == "error"
            clause = target_clause(run, handler.promised)
            if results is not None:
                results.record(run, options.generator, history=clause is not None,
                               scenario=clause is not None)
            if clause is not None:
                stats.failing_runs += 1
                if clause not in reported:
                    reported.add(clause)
                    failure = handler.handle(run, shrink_it=True, seed=seed)
                    if failure is not None:
                        stats.failures.append(failure)
                        _record_shrunk(results, failure)
                        if on_failure is not None:
                            on_failure(failure)
            if on_run is not None:
                on_run(stats, run)
            if options.max_failures and len(stats.failures) >= options.max_failures:
                break
    except KeyboardInterrupt:
        stats.interrupted = True
    stats.ended = time.monotonic()
    return stats


def _record_shrunk(results: ResultsDir | None, failure: Failure) -> None:
    if results is not None and failure.shrunk is not None:
        results.record(failure.run, "shrunk", name=f"{failure.run.scenario.name}.shrunk")
