"""Where generated scenarios come from: seeded ``generate`` or Hypothesis draws.

Both sources are restricted to what the adapter can do (fault kinds it supports, the
crashpoints it declares), so a generated scenario is rarely "not applicable", and both
are reproducible from one integer seed, which the CLI prints.

- ``seeded(seed)``: ``scenarios.generate(seed + i)`` for i = 0, 1, 2, ...: thousands per
  second, named ``generated_<seed+i>``; the name alone reproduces the scenario.
- ``hypothesis_batches(seed, profile)``: ``scenarios.strategies.scenarios()`` under a
  wfconform Hypothesis profile, drawn (generate phase only, no database) in batches with
  seeds ``seed``, ``seed + 1``, ...; each scenario is renamed ``hypothesis_<seed>_<i>``.
  Shrinking is the harness's own (``harness.shrink``): each try is a real engine run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from harness.adapter import EngineAdapter
from harness.profiles import profile
from scenarios.faults import FAULT_KINDS
from scenarios.generate import generate
from scenarios.scenario import Scenario

__all__ = ["draw_scenarios", "hypothesis_batches", "knobs_for", "seeded"]

BATCH = 20


def knobs_for(adapter: EngineAdapter, max_steps: int = 8) -> dict[str, Any]:
    """Generator knobs for what ``adapter`` can do (faults it supports, its crashpoints)."""
    kinds = frozenset(k for k in FAULT_KINDS if adapter.supports(k))
    return {"max_steps": max_steps, "fault_kinds": kinds,
            "capabilities": adapter.capabilities()}


def seeded(seed: int, knobs: dict[str, Any]) -> Iterator[tuple[int, Scenario]]:
    """``(seed_i, generate(seed_i))`` for seed_i = seed, seed + 1, ... (endless)."""
    index = seed
    while True:
        yield index, generate(index, **knobs)
        index += 1


def draw_scenarios(count: int, seed: int, knobs: dict[str, Any],
                   profile_name: str = "quick") -> list[Scenario]:
    """``count`` scenarios drawn by Hypothesis with ``seed`` (same seed, same scenarios)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from scenarios.strategies import scenarios

    if count <= 0:
        return []
    drawn: list[Scenario] = []
    strategy = scenarios(max_steps=knobs["max_steps"], fault_kinds=knobs["fault_kinds"],
                         capabilities=knobs["capabilities"])

    @hypothesis_seed(seed)
    @settings(parent=profile(profile_name), max_examples=count, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(scenario: Scenario) -> None:
        drawn.append(scenario)

    collect()
    return [replace(s, name=f"hypothesis_{seed}_{i}", seed=seed)
            for i, s in enumerate(drawn[:count])]


def hypothesis_batches(seed: int, knobs: dict[str, Any],
                       profile_name: str = "deep") -> Iterator[tuple[int, Scenario]]:
    """Endless ``(batch_seed, scenario)`` pairs, ``BATCH`` draws per seed."""
    batch_seed = seed
    while True:
        for scenario in draw_scenarios(BATCH, batch_seed, knobs, profile_name):
            yield batch_seed, scenario
        batch_seed += 1
