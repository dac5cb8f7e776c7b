"""A long fuzz campaign holds steady memory: a scenario leaves nothing behind.

Found 2026-12-04: every scenario's process types (classes made per scenario definition,
with the scenario's values in their closures) stayed alive, in the harness's type
registry and in the engine's table of compiled outlines: about 150 objects and 10 KB
per scenario, some 4 GB an hour at sim speed, so a deep overnight campaign would have
run out of memory. The claim is measured over a window that starts after the registry
bound (``KEEP_REGISTERED``) and the engine's type cache (``loader.resolve``, 1,024
types) are full, so it judges the steady state, not their filling.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

import harness.adapters.reference_workflows as reference_workflows
from harness.adapters import load_adapter
from harness.failures import FailureHandler
from harness.fuzz import FuzzOptions, FuzzStats, fuzz
from harness.runner import RunOptions, ScenarioRun
from reference_engine.loader import resolve

pytestmark = pytest.mark.simulation

WINDOW = (500, 1500)
"""Scenarios at which objects are counted: by 500, over 1,000 types were made (the
engine's cache holds 1,024). About 15 s of CPU."""

MAX_GROWTH_PER_SCENARIO = 30
"""Objects a scenario may leave behind on average. The leak left about 150. Without it
the count still wanders as caches evict (measured at scenarios 700, 1000, 1500, 2000:
64,285, 69,395, 64,261, 62,108), by up to 7 per scenario over a 1,000-scenario window."""


def test_a_campaign_does_not_grow_with_its_scenarios(tmp_path: Path) -> None:
    factory = load_adapter("reference", "sim")
    caps = factory().capabilities()
    options = FuzzOptions(3600.0, 1, shrink_time=0.0, run=RunOptions(10.0, 5.0),
                          max_examples=WINDOW[1])
    handler = FailureHandler(factory, options.run, frozenset(caps.promised), "reference",
                             "sim", tmp_path, shrink_budget=0.0)
    counts: dict[int, int] = {}
    made: list[weakref.ref[type]] = []
    make = reference_workflows._workflow_class

    def tracked(*args: object) -> type:
        cls = make(*args)  # type: ignore[arg-type]
        made.append(weakref.ref(cls))
        return cls

    def on_run(stats: FuzzStats, run: ScenarioRun) -> None:
        if stats.scenarios in WINDOW:
            gc.collect()
            counts[stats.scenarios] = len(gc.get_objects())

    reference_workflows._workflow_class = tracked  # type: ignore[assignment]
    try:
        stats = fuzz(factory, options, handler, on_run=on_run)
    finally:
        reference_workflows._workflow_class = make  # type: ignore[assignment]
    assert stats.scenarios == WINDOW[1] and not stats.failures
    growth = (counts[WINDOW[1]] - counts[WINDOW[0]]) / (WINDOW[1] - WINDOW[0])
    assert growth < MAX_GROWTH_PER_SCENARIO, (
        f"{growth:.1f} objects per scenario stayed alive between scenarios {WINDOW[0]} and "
        f"{WINDOW[1]} (counts {counts})")
    gc.collect()
    alive = sum(ref() is not None for ref in made)
    cached = resolve.cache_info().maxsize or 0  # the engine's type cache keeps these too
    assert len(made) > 1500 and alive <= reference_workflows.KEEP_REGISTERED + cached, (
        f"{alive} of {len(made)} workflow classes made for scenarios are still alive")


def test_the_type_registry_keeps_its_newest_definitions_only() -> None:
    from scenarios.generate import generate

    first = generate(0)
    types = reference_workflows.register(first)
    names = [t.partition(":")[2] for t in types.workflows.values()]
    for seed in range(1, reference_workflows.KEEP_REGISTERED + 5):
        reference_workflows.register(generate(seed))
    assert len(reference_workflows._REGISTERED) <= reference_workflows.KEEP_REGISTERED
    assert not set(names) & set(reference_workflows._TYPES), "the oldest was not evicted"
    # an evicted definition comes back, with the same type names, when registered again
    assert reference_workflows.register(first) == types
    for name in names:
        cls = getattr(reference_workflows, name)
        assert issubclass(cls, reference_workflows.ScenarioWorkflow) and cls.program()
