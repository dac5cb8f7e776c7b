"""``fuzz``: run generated scenarios against an engine until a time box is spent.

Each scenario runs on a fresh adapter exactly as in ``run``. The first failure of each
clause is shrunk (``harness.shrink``, keeping that clause failing) and written as a
scenario JSON with its history and failure record: every clause a run fails is counted,
shrunk and written, not only the one it is "about"; later failures of an
already-reported clause are counted, not shrunk again, so one bug does not eat the time
box. The loop stops starting scenarios at ``max_time`` (shrinking also ends by then, but a
failure found at the end gets a few seconds: ``FailureHandler.deadline``), after
``max_examples`` scenarios, after ``max_failures`` distinct failing clauses, or on Ctrl-C
(what the current run started is cleaned up by the runner, and the summary is still
returned).

One function, ``visit``, runs a scenario and does all of the above; the source calls it.
The seeded source is a plain loop. The Hypothesis source calls it inside Hypothesis's
test function (``harness.sources.hypothesis_rounds``), and ``visit`` returns the run's
score: the kill-point cells it filled (``CoverageTable.score``), which the source passes
to ``hypothesis.target`` ("steering"), so Hypothesis mutates toward scenarios that fill
holes of the coverage table. Steering needs a tier that reports coverage (sim); elsewhere
every score would be 0, so the source only generates, and ``source_description`` says so.
Every run's coverage is merged into ``FuzzStats.coverage``, steered or not.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness.adapter import EngineAdapter
from harness.checks import FAIL, PASS
from harness.coverage import CoverageCollector, CoverageTable, reports_coverage
from harness.errors import UsageError
from harness.failures import Failure, FailureHandler, failing_clauses, target_clause
from harness.results import ResultsDir
from harness.run_errors import ErrorLog
from harness.runner import AdapterFactory, RunOptions, ScenarioRun, run_scenario
from harness.seeds import Stream, scenario_seed, seeded_scenarios
from harness.sources import ROUND, StopSource, hypothesis_rounds, knobs_for
from scenarios.scenario import Scenario

__all__ = ["FuzzOptions", "FuzzStats", "fuzz", "source_description", "steers"]

GENERATORS = ("seeded", "hypothesis")
PASSING_SAMPLE = 3
"""Passing runs whose history fuzz keeps in ``--out`` (the first ones), so its report has
a timeline of what passing looks like; every failing run's history is kept."""


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
    max_examples: int = 0  # stop after this many scenarios; 0: only the time box
    steer: bool = True  # hypothesis generator: hypothesis.target toward uncovered cells

    def __post_init__(self) -> None:
        if self.generator not in GENERATORS:
            raise UsageError("--generator", self.generator, f"one of {', '.join(GENERATORS)}")
        if not self.max_time > 0:
            raise UsageError("--max-time", self.max_time, "a positive number of seconds")
        if self.max_steps < 1 or self.max_failures < 0:
            raise UsageError("--max-steps/--max-failures", (self.max_steps, self.max_failures),
                             "max-steps of at least 1 and max-failures of at least 0")
        if self.max_examples < 0:
            raise UsageError("--max-examples", self.max_examples,
                             "0 (no limit) or a positive count of scenarios")


@dataclass
class FuzzStats:
    """Counters of a campaign, updated as it goes (progress reads them)."""

    seed: int
    started: float = field(default_factory=time.monotonic)
    scenarios: int = 0
    not_applicable: int = 0
    errors: int = 0
    error_log: ErrorLog = field(default_factory=ErrorLog)
    checked: set[str] = field(default_factory=set)  # clauses with a pass or fail verdict
    failing_runs: int = 0
    failures: list[Failure] = field(default_factory=list)
    coverage: CoverageTable = field(default_factory=CoverageTable)
    interrupted: bool = False
    ended: float | None = None

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        return self.scenarios / self.seconds if self.seconds > 0 else 0.0


def steers(options: FuzzOptions, adapter: EngineAdapter) -> bool:
    """Whether the campaign calls ``hypothesis.target``: the Hypothesis generator, not
    ``--no-steer``, and a tier that reports kill-point coverage (else every score is 0)."""
    return options.generator == "hypothesis" and options.steer and reports_coverage(adapter)


def source_description(options: FuzzOptions, adapter: EngineAdapter) -> str:
    """What the campaign draws from, for the CLI's first line and the results metadata."""
    if options.generator == "seeded":
        return "seeded (scenarios.generate(scenario_seed(seed, i)))"
    rounds = f"Hypothesis rounds of {ROUND} examples"
    if steers(options, adapter):
        return (f"{rounds}, steered by hypothesis.target() toward uncovered kill-point "
                "cells")
    why = ("--no-steer" if not options.steer
           else f"tier {adapter.tier} reports no kill-point coverage")
    return f"{rounds}, not steered ({why})"


def fuzz(factory: AdapterFactory, options: FuzzOptions, handler: FailureHandler,
         results: ResultsDir | None = None,
         on_run: Callable[[FuzzStats, ScenarioRun], None] | None = None,
         on_failure: Callable[[Failure], None] | None = None,
         stream: Stream | None = None,
         claim: Callable[[str], bool] | None = None,
         replay: Sequence[Scenario] = (), passing_sample: int = PASSING_SAMPLE) -> FuzzStats:
    """Run the campaign (see module docstring); returns its counters and failures.

    ``stream``: which scenario indexes this process runs (a shard, a worker's share;
    ``harness.seeds``); default: all of them, from index 0. ``claim(clause)``: whether
    this process shrinks and writes the clause's first failure (False: another worker
    of the campaign does; ``harness.fuzz_pool``). ``replay``: scenarios visited before
    any generated one (the shared example database's failures; ``harness.example_db``).
    ``passing_sample``: how many passing runs keep their history in ``results`` (in a
    pool, one worker keeps the campaign's sample)."""
    stream = stream or Stream(options.seed)
    campaign = _Campaign(factory, options, handler, results, on_run, on_failure)
    campaign.claim = claim
    campaign.sampled = PASSING_SAMPLE - passing_sample
    probe = factory()
    knobs = knobs_for(probe, options.max_steps)
    _freeze_heap()
    try:
        for scenario in replay:
            campaign.visit(scenario.seed if scenario.seed is not None else 0, scenario)
        if options.generator == "hypothesis":
            first = options.seed if stream.stride == 1 else scenario_seed(options.seed,
                                                                          stream.first())
            hypothesis_rounds(first, knobs, campaign.visit,
                              steer=steers(options, probe))
        else:
            for seed, scenario in seeded_scenarios(stream, knobs):
                campaign.visit(seed, scenario)
    except StopSource:
        pass
    except KeyboardInterrupt:
        campaign.stats.interrupted = True
    finally:
        gc.unfreeze()
    campaign.stats.ended = time.monotonic()
    return campaign.stats


def _freeze_heap() -> None:
    """Leave what exists before the campaign (modules, classes, the adapter's tables:
    some 80,000 objects) out of every later garbage collection.

    Why: a scenario allocates enough to trigger a full collection every 60 or so runs,
    and each walked all of it again (``gc.freeze``: measured 10-13 % of a sim campaign's
    CPU seconds, 1.4 % of its instructions: the walk is cache misses). ``fuzz`` undoes it
    when it returns, so a long-lived caller (a test session) is not left with a frozen
    heap.
    """
    gc.collect()
    gc.freeze()


class _Campaign:
    """One campaign's state; ``visit`` is what every source calls, once per scenario."""

    def __init__(self, factory: AdapterFactory, options: FuzzOptions,
                 handler: FailureHandler, results: ResultsDir | None,
                 on_run: Callable[[FuzzStats, ScenarioRun], None] | None,
                 on_failure: Callable[[Failure], None] | None) -> None:
        self.options, self.handler, self.results = options, handler, results
        self.on_run, self.on_failure = on_run, on_failure
        self.stats = FuzzStats(options.seed)
        self.deadline = self.stats.started + options.max_time
        self.reported: set[str] = set()
        self.claim: Callable[[str], bool] | None = None
        self.sampled = 0  # passing runs whose history was kept (``PASSING_SAMPLE``)
        # Shrinking reruns go through the handler's own (unwrapped) factory: not counted.
        self.collector = CoverageCollector(factory, self.stats.coverage)

    def visit(self, seed: int, scenario: Scenario) -> int:
        """Run, count, record and handle one scenario; its score: the cells it filled.
        Raises ``StopSource`` instead when a stop condition holds."""
        stats, options = self.stats, self.options
        if (time.monotonic() >= self.deadline
                or (options.max_examples and stats.scenarios >= options.max_examples)
                or (options.max_failures and len(stats.failures) >= options.max_failures)):
            raise StopSource
        run = run_scenario(self.collector, scenario, options.run)
        counts = self.collector.take()
        score = stats.coverage.score(counts)
        stats.coverage.merge(counts)
        stats.scenarios += 1
        if stats.scenarios == 1:
            _freeze_heap()  # again: the first run imported what runs need (NumPy, ...)
        stats.not_applicable += run.status == "not_applicable"
        stats.errors += run.status == "error"
        stats.error_log.add(run)
        stats.checked.update(r.clause for r in run.results if r.counts and (
            r.verdict == FAIL or (r.verdict == PASS and run.status == "ran")))
        self._handle(run, seed)
        if self.on_run is not None:
            self.on_run(stats, run)
        return score

    def _handle(self, run: ScenarioRun, seed: int) -> None:
        """Record the run; shrink and write the first failure of each clause."""
        clause = target_clause(run, self.handler.promised)
        if self.results is not None:
            sample = clause is None and run.status == "ran" and self.sampled < PASSING_SAMPLE
            self.sampled += sample
            self.results.record(run, self.options.generator,
                                history=clause is not None or sample,
                                scenario=clause is not None or sample)
        if clause is None:
            return
        self.stats.failing_runs += 1
        new = [c for c in failing_clauses(run, self.handler.promised) if c not in self.reported]
        limit = self.options.max_failures
        for clause in new:
            if limit and len(self.stats.failures) >= limit:
                break  # --maxfail N: N failures, not more, even from one run
            self.reported.add(clause)
            if self.claim is not None and not self.claim(clause):
                continue  # another worker process shrinks and writes this clause
            # one file per clause: the same run shrinks differently for each
            name = run.scenario.name if len(new) == 1 else f"{run.scenario.name}-{clause}"
            failure = self.handler.handle(run, shrink_it=True, seed=seed, clause=clause,
                                          name=name)
            if failure is not None:
                self.stats.failures.append(failure)
                _record_shrunk(self.results, failure, name)
                if self.on_failure is not None:
                    self.on_failure(failure)


def _record_shrunk(results: ResultsDir | None, failure: Failure, name: str) -> None:
    if results is not None and failure.shrunk is not None:
        results.record(failure.run, "shrunk", name=f"{name}.shrunk")
