"""Where generated scenarios come from: seeded ``generate`` or Hypothesis draws.

Both sources are restricted to what the adapter can do (fault kinds it supports, the
crashpoints it declares), so a generated scenario is rarely "not applicable", and both
are reproducible from one integer seed, which the CLI prints.

- ``seeded(seed)``: ``scenarios.generate(seed + i)`` for i = 0, 1, 2, ...: thousands per
  second, named ``generated_<seed+i>``; the name alone reproduces the scenario.
- ``draw_scenarios(count, seed)``: a list drawn by Hypothesis up front (generate phase
  only, no database), for ``wfconform run``'s ``--examples``.
- ``hypothesis_rounds(seed, visit)``: fuzz's Hypothesis source, a callback loop.
  Hypothesis calls ``visit(round_seed, scenario)`` *inside* its test function, so the
  visitor runs the scenario and returns a score (fuzz: the kill-point cells the run
  filled, ``CoverageTable.score``); with ``steer`` the source passes it to
  ``hypothesis.target`` and enables ``Phase.target``, so Hypothesis's hill climber
  mutates the best scenarios toward more new cells. Rounds of ``ROUND`` examples with
  seeds ``seed``, ``seed + 1``, ...; each scenario is renamed ``hypothesis_<round_seed>_<i>``.
  The visitor ends the source by raising ``StopSource``.

Why rounds: Hypothesis starts optimising a target once half of ``max_examples`` has
run, and only once per test, so a time-boxed campaign is a series of short tests, each
generating, then climbing from its best scenario. The score is relative to everything
covered so far, so a fresh round also re-ranks its examples against the current holes.
Steered, on the sim tier, rounds of 25 or 30 examples covered the most cells after 300
scenarios (tried: 20, 25, 30, 40, 50, 100; rounds of 100 covered about a third fewer).

Why the fault plan is drawn last in the fuzz source (``fuzz_scenarios``): the hill
climber tries its moves from the end of an example's choice sequence backwards, so the
choices drawn last are mutated first. Last, the fault plan (which crashpoint, which
body, which attempt, which journal entry) is what it varies; drawn before the launch
plan, most of its budget went to launch inputs, which move no fault. The cost: the
launch plan no longer sees the faults (the builder's "relaunch after an exception" bias
is off in this source; the seeded source and ``run``'s draws keep it).

Shrinking is the harness's own (``harness.shrink``): each try is a real engine run; no
source runs Hypothesis's shrink phase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from harness.adapter import EngineAdapter, offers
from harness.profiles import profile
from scenarios.faults import CRASHPOINTS, FAULT_KINDS
from scenarios.generate import generate
from scenarios.scenario import Scenario

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["ROUND", "TARGET_LABEL", "StopSource", "draw_scenarios", "fuzz_scenarios",
           "hypothesis_rounds", "knobs_for", "seeded"]

ROUND = 30
"""Examples per Hypothesis round (one ``@given`` run); targeting starts at the 15th."""
TARGET_LABEL = "new kill-point cells"

Visit = Callable[[int, Scenario], float | None]
"""``visit(seed, scenario)`` runs the scenario and returns its score (None: no score)."""


class StopSource(BaseException):  # a signal, like StopIteration, not an error
    """Raised by a visitor to end a callback source (``hypothesis_rounds``).

    A ``BaseException`` on purpose: Hypothesis takes an ``Exception`` raised in its test
    function for a failing example and replays it; this passes straight through.
    """


class _Escape(BaseException):
    """Carries an error of ``visit`` out of Hypothesis's test function unchanged: it is the
    harness's error (a bad adapter, a usage error), not a falsifying example to replay."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


def knobs_for(adapter: EngineAdapter, max_steps: int = 8) -> dict[str, Any]:
    """Generator knobs for what ``adapter`` can do (faults it offers, its crashpoints):
    ``offers``, not ``supports``, so an adapter written before a fault existed is not
    sent scenarios that will only come back "not applicable"."""
    kinds = frozenset(k for k in FAULT_KINDS if offers(adapter, k))
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


def fuzz_scenarios(knobs: dict[str, Any]) -> SearchStrategy[Scenario]:
    """``scenarios.strategies.scenarios()`` with the fault plan drawn last (see above)."""
    from hypothesis import strategies as st

    from scenarios.strategies import fault_plans, scenarios

    capabilities = knobs["capabilities"]
    points = capabilities.crashpoints if capabilities is not None else CRASHPOINTS
    unfaulted = scenarios(max_steps=knobs["max_steps"], fault_kinds=frozenset(),
                          capabilities=capabilities)

    @st.composite
    def build(draw: Any) -> Scenario:
        base = draw(unfaulted)
        faults = draw(fault_plans(base.workflows, base.calculations, knobs["fault_kinds"],
                                  crashpoints=points))
        return replace(base, faults=faults).validate()

    return build()


def hypothesis_rounds(seed: int, knobs: dict[str, Any], visit: Visit, *, steer: bool,
                      profile_name: str = "deep", round_size: int = ROUND) -> None:
    """Call ``visit`` on Hypothesis's scenarios, round after round, until it raises
    ``StopSource`` (or anything else, which propagates). With ``steer``, each score is
    passed to ``hypothesis.target`` under ``TARGET_LABEL`` and ``Phase.target`` is on;
    without, the same rounds generate only. Same seed and same scores: same scenarios."""
    strategy = fuzz_scenarios(knobs)
    round_seed = seed
    while True:
        _round(round_seed, strategy, visit, steer, profile_name, round_size)
        round_seed += 1


def _round(round_seed: int, strategy: SearchStrategy[Scenario], visit: Visit, steer: bool,
           profile_name: str, round_size: int) -> None:
    """One ``@given`` run of ``round_size`` examples, seeded with ``round_seed``."""
    from hypothesis import HealthCheck, Phase, given, settings, target
    from hypothesis import seed as hypothesis_seed

    phases = [Phase.generate, Phase.target] if steer else [Phase.generate]
    index = 0

    @hypothesis_seed(round_seed)
    @settings(parent=profile(profile_name), max_examples=round_size, database=None,
              phases=phases, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one_round(scenario: Scenario) -> None:
        nonlocal index
        named = replace(scenario, name=f"hypothesis_{round_seed}_{index}", seed=round_seed)
        index += 1
        try:
            score = visit(round_seed, named)
        except Exception as error:
            raise _Escape(error) from error
        if steer and score is not None:
            target(score, label=TARGET_LABEL)

    try:
        one_round()
    except _Escape as escape:
        raise escape.error from None
