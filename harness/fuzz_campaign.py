"""A fuzz campaign at scale: the example database's replays, then one process or a pool.

``wfconform fuzz`` calls ``run_campaign``; it chooses between ``harness.fuzz.fuzz`` in
this process (``--workers 1``) and ``harness.fuzz_pool`` (more), gives both the shard's
seed stream (``harness.seeds``), replays the scenarios saved in the shared example
database first and saves each newly failing clause's scenario there
(``harness.example_db``). Kept apart from the command so the output code stays the
command's and the scaling code stays here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.example_db import (
    DEFAULT_SUBDIR,
    database_key,
    open_database,
    save_scenario,
    saved_scenarios,
)
from harness.failures import Failure, FailureHandler
from harness.fuzz import FuzzOptions, FuzzStats, fuzz
from harness.fuzz_pool import PoolSpec, default_workers, fuzz_pool
from harness.results import ResultsDir
from harness.runner import AdapterFactory, ScenarioRun
from harness.seeds import Shard, Stream

__all__ = ["Scale", "run_campaign"]


@dataclass(frozen=True)
class Scale:
    """How a campaign is spread: ``workers`` processes (None: all cores), this machine's
    ``shard`` of the matrix, and the example database (None: ``<out>/examples``)."""

    workers: int | None = 1
    shard: Shard = field(default_factory=Shard)
    example_db: str | None = None
    key_prefix: str = "wfconform"

    def worker_count(self) -> int:
        return self.workers if self.workers is not None else default_workers()


def run_campaign(factory: AdapterFactory, options: FuzzOptions, handler: FailureHandler,
                 results: ResultsDir | None, scale: Scale, engine: str, tier: str | None,
                 on_run: Callable[[FuzzStats, ScenarioRun], None],
                 on_progress: Callable[[FuzzStats], None],
                 on_failure: Callable[[Failure], None]) -> FuzzStats:
    """Replays first, then the shard's stream; each new failing clause is saved."""
    out = Path(handler.out)
    db = open_database(scale.example_db or str(out / DEFAULT_SUBDIR), scale.key_prefix)
    key = database_key(engine, handler.tier)
    replay = saved_scenarios(db, key)

    def found(failure: Failure) -> None:
        shrunk = failure.shrunk.scenario if failure.shrunk is not None else None
        save_scenario(db, key, shrunk or failure.original.scenario)
        on_failure(failure)

    workers = scale.worker_count()
    if workers <= 1:
        return fuzz(factory, options, handler, results, on_run=on_run, on_failure=found,
                    stream=Stream(options.seed, scale.shard), replay=replay)
    spec = PoolSpec(engine, tier, options, handler.promised, str(out), handler.shrink_left,
                    str(results.root) if results is not None else None, scale.shard,
                    workers, tuple(replay))
    return fuzz_pool(spec, on_progress=on_progress, on_failure=found,
                     on_shrink=handler.on_shrink)
