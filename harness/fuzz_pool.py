"""``fuzz --workers N``: one campaign on N worker processes, one progress line, one summary.

Why processes and not threads: a sim run is pure Python (the GIL would serialise
threads), and embedded/real workers SIGKILL engine processes that must not share a
parent with another run's. Each worker runs ``harness.fuzz.fuzz`` on its own share of
the campaign's scenario indexes (``harness.seeds.Stream``: worker ``w`` of ``W`` takes
every ``W``-th index of its shard), so the union of the workers is exactly the
campaign a single process would run, in a different order.

Workers report over one queue: counters at most every ``REPORT_EVERY`` seconds (the
parent prints the one progress line), each failure as it is written, and their final
``FuzzStats``. Failures are deduplicated by clause across workers before shrinking:
the first worker to claim a clause (a flag per clause in shared memory) shrinks and
writes it; the others count the failing run and move on. Ctrl-C reaches every worker
(same process group): each stops starting scenarios, cleans up what its run started
and sends what it has; the parent waits for them, then ends any that hang.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.failures import Failure, FailureHandler
from harness.fuzz import PASSING_SAMPLE, FuzzOptions, FuzzStats, fuzz
from harness.results import ResultsDir
from harness.run_errors import ErrorGroup, ErrorLog
from harness.run_errors import _key as error_key
from harness.runner import ScenarioRun
from harness.seeds import Shard, Stream
from harness.sources import StopSource
from scenarios.capabilities import ALL_CLAUSES
from scenarios.scenario import Scenario

__all__ = ["PoolSpec", "default_workers", "fuzz_pool"]

REPORT_EVERY = 0.2
JOIN_SECONDS = 30.0


def default_workers() -> int:
    """All the cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class PoolSpec:
    """What every worker needs to rebuild the campaign on its side (all picklable):
    the adapter by name, not a factory (a closure does not survive ``spawn``)."""

    engine: str
    tier: str | None
    options: FuzzOptions
    promised: frozenset[str]
    out: str
    shrink_time: float
    results: str | None = None
    shard: Shard = field(default_factory=Shard)
    workers: int = 1
    replay: tuple[Scenario, ...] = ()  # visited first, by worker 0 (harness.example_db)


Progress = Callable[[FuzzStats], None]


def fuzz_pool(spec: PoolSpec, on_progress: Progress | None = None,
              on_failure: Callable[[Failure], None] | None = None,
              on_shrink: Callable[..., None] | None = None) -> FuzzStats:
    """Run the campaign on ``spec.workers`` processes; the merged ``FuzzStats``.
    ``on_shrink``: the workers' shrink progress (``FailureHandler.on_shrink``'s arguments)."""
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    claims = context.Array("b", len(ALL_CLAUSES))
    reports: Any = context.Queue()
    procs = [context.Process(target=_worker, args=(spec, w, claims, reports),
                             name=f"wfconform-fuzz-{w}", daemon=True)
             for w in range(spec.workers)]
    total = FuzzStats(spec.options.seed)
    live: dict[int, FuzzStats] = {}
    finals: dict[int, FuzzStats] = {}
    for proc in procs:
        proc.start()
    try:
        while len(finals) < len(procs):
            if not _receive(reports, live, finals, on_failure, procs, on_shrink):
                continue
            if on_progress is not None:
                on_progress(_merge(total, [*finals.values(), *(
                    s for w, s in live.items() if w not in finals)], final=False))
    except KeyboardInterrupt:
        total.interrupted = True
        _drain(reports, live, finals, procs)
    finally:
        _stop(procs)
        reports.close()
    merged = _merge(total, [finals.get(w) or live.get(w) or FuzzStats(spec.options.seed)
                            for w in range(len(procs))], final=True)
    merged.interrupted = merged.interrupted or total.interrupted
    return merged


def _receive(reports: Any, live: dict[int, FuzzStats], finals: dict[int, FuzzStats],
             on_failure: Callable[[Failure], None] | None,
             procs: list[Any], on_shrink: Callable[..., None] | None = None) -> bool:
    try:
        kind, worker, payload = reports.get(timeout=0.5)
    except queue.Empty:
        for w, proc in enumerate(procs):  # a worker that died without its final report
            if w not in finals and not proc.is_alive():
                finals[w] = live.get(w) or FuzzStats(0)
        return False
    if kind == "progress":
        live[worker] = payload
    elif kind == "failure" and on_failure is not None:
        on_failure(payload)
    elif kind == "shrink" and on_shrink is not None:
        on_shrink(*payload)
    elif kind == "done":
        finals[worker] = payload
    return True


def _drain(reports: Any, live: dict[int, FuzzStats], finals: dict[int, FuzzStats],
           procs: list[Any]) -> None:
    """After Ctrl-C: collect the workers' final reports while they wind down."""
    deadline = time.monotonic() + JOIN_SECONDS
    while len(finals) < len(procs) and time.monotonic() < deadline:
        try:
            _receive(reports, live, finals, None, procs)
        except KeyboardInterrupt:
            continue


def _stop(procs: list[Any]) -> None:
    for proc in procs:
        proc.join(JOIN_SECONDS if proc.is_alive() else 0)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _merge(total: FuzzStats, parts: list[FuzzStats], final: bool) -> FuzzStats:
    """One ``FuzzStats`` over the workers'; failures deduplicated by clause."""
    merged = FuzzStats(total.seed, started=total.started)
    seen: set[str] = set()
    for part in parts:
        merged.scenarios += part.scenarios
        merged.not_applicable += part.not_applicable
        merged.errors += part.errors
        merged.failing_runs += part.failing_runs
        merged.checked |= part.checked
        merged.interrupted = merged.interrupted or part.interrupted
        merged.coverage.merge(part.coverage.counts)
        _merge_errors(merged.error_log, part.error_log)
        for failure in part.failures:
            if failure.clause not in seen:
                seen.add(failure.clause)
                merged.failures.append(failure)
    if final:
        merged.ended = time.monotonic()
    return merged


def _merge_errors(into: ErrorLog, part: ErrorLog) -> None:
    """Add ``part``'s groups to ``into``: same error text, one group (as one log would)."""
    for group in part.groups:
        key = error_key(group.reason)
        mine = into._groups.get(key)
        if mine is None:
            mine = into._groups[key] = ErrorGroup(len(into._groups) + 1, group.reason,
                                                  group.traceback)
        mine.scenarios.extend(group.scenarios)


def _worker(spec: PoolSpec, worker: int, claims: Any, reports: Any) -> None:
    """One worker process: its share of the campaign, reported over ``reports``."""
    from harness.adapters import load_adapter

    factory = load_adapter(spec.engine, spec.tier)
    handler = FailureHandler(factory, spec.options.run, spec.promised, spec.engine,
                             factory().tier, Path(spec.out), shrink_budget=spec.shrink_time,
                             # shrinking ends with the time box, as in one process
                             deadline=time.monotonic() + spec.options.max_time,
                             on_shrink=lambda *args: reports.put(("shrink", worker, args)))
    options = replace(spec.options, max_examples=_share(spec.options.max_examples, worker,
                                                        spec.workers))
    stream = Stream(spec.options.seed, spec.shard, worker, spec.workers)
    results = ResultsDir(spec.results) if spec.results else None
    last = [0.0]

    limit = spec.options.max_failures  # --max-failures/--maxfail: for the whole campaign

    # One lock per question: the synchronized array's own ``[i]`` takes its lock per
    # item, so ``sum(claims)`` locked once per clause, at every scenario.
    flags = claims.get_obj()

    def claim(clause: str) -> bool:
        index = ALL_CLAUSES.index(clause)
        with claims.get_lock():
            if flags[index] or (limit and sum(flags) >= limit):
                return False
            flags[index] = 1
            return True

    def on_run(stats: FuzzStats, run: ScenarioRun) -> None:
        if limit:
            with claims.get_lock():
                reached = sum(flags) >= limit
            if reached:
                raise StopSource  # another worker reached the campaign's failure limit
        now = time.monotonic()
        if now - last[0] >= REPORT_EVERY:
            last[0] = now
            reports.put(("progress", worker, _light(stats)))

    stats = FuzzStats(spec.options.seed)
    try:
        if options.max_examples == 0 and spec.options.max_examples:
            return  # more workers than scenarios: nothing for this one
        stats = fuzz(factory, options, handler, results, on_run=on_run,
                     on_failure=lambda f: reports.put(("failure", worker, f)),
                     stream=stream, claim=claim, replay=spec.replay if worker == 0 else (),
                     passing_sample=PASSING_SAMPLE if worker == 0 else 0)
    except KeyboardInterrupt:
        stats.interrupted = True
    finally:
        if results is not None:
            results.close()
        reports.put(("done", worker, stats))
        reports.close()
        reports.join_thread()


def _share(count: int, worker: int, workers: int) -> int:
    """Worker ``worker``'s part of ``count`` scenarios (0: no limit stays no limit)."""
    if count == 0:
        return 0
    return count // workers + (1 if worker < count % workers else 0)


def _light(stats: FuzzStats) -> FuzzStats:
    """Counters only (no failures, runs or coverage) for a progress report."""
    light = FuzzStats(stats.seed, started=stats.started, scenarios=stats.scenarios,
                      not_applicable=stats.not_applicable, errors=stats.errors,
                      failing_runs=stats.failing_runs)
    light.failures = list(stats.failures)
    return light
