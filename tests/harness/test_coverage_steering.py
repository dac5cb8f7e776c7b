"""``fuzz --generator hypothesis`` steers toward uncovered kill-point cells with target().

The comparison runs the same Hypothesis rounds (same seed, same example budget, sim tier)
with and without ``hypothesis.target``; the sim is deterministic, so each campaign is
too, and the numbers below are exact, not samples. One seed proved too thin a claim: a
generator change re-rolls every campaign, and after the near-pair series (2026-12-04)
steering tied on seed 1 (9 cells against 9). So the claim is over seeds 1, 2 and 3, the
first three, not picked: steering fills more cells in total and on most of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.adapters import load_adapter
from harness.adapters.reference import ReferenceAdapter
from harness.cli import main
from harness.coverage import CoverageTable
from harness.failures import FailureHandler
from harness.fuzz import FuzzOptions, FuzzStats, fuzz, source_description
from harness.runner import RunOptions, ScenarioRun
from harness.sources import StopSource, hypothesis_rounds, knobs_for
from scenarios.scenario import Scenario

pytestmark = pytest.mark.simulation

SEEDS = (1, 2, 3)
BUDGET = 100
"""Scenarios per campaign. Measured 2026-12-04 (a series' cross-type member joined the
generator), cells covered steered against unsteered: seed 1 5/4, seed 2 12/6, seed 3 11/7
(seeds 4-6: 15/9, 14/11, 16/8). About 3 s of CPU per seed for both campaigns."""


def _campaign(tmp_path: Path, seed: int, budget: int, *, steer: bool
              ) -> tuple[FuzzStats, list[Scenario], list[int]]:
    """A Hypothesis campaign of exactly ``budget`` scenarios on the sim tier."""
    factory = load_adapter("reference", "sim")
    caps = factory().capabilities()
    options = FuzzOptions(3600.0, seed, "hypothesis", shrink_time=0.0,
                          run=RunOptions(10.0, 5.0), max_examples=budget, steer=steer)
    promised = frozenset(caps.promised - caps.expected_failures)
    handler = FailureHandler(factory, options.run, promised, "reference",
                             "sim", tmp_path / ("steered" if steer else "unsteered"),
                             shrink_budget=0.0)
    scenarios: list[Scenario] = []
    curve: list[int] = []

    def on_run(stats: FuzzStats, run: ScenarioRun) -> None:
        scenarios.append(run.scenario)
        curve.append(stats.coverage.covered())

    stats = fuzz(factory, options, handler, on_run=on_run)
    return stats, scenarios, curve


def test_the_score_rewards_new_cells_and_gives_nothing_for_covered_ones() -> None:
    table = CoverageTable()
    first = {("before_effect", "compute", "armed_kill"): 2,
             ("after_claim", "launch", "kill"): 1}
    assert table.score(first) == 2
    table.merge(first)
    assert table.score(first) == 0  # the same cells again: no reward
    assert table.score({("before_effect", "compute", "armed_kill"): 5,
                        ("while_waiting", "launch", "armed_kill"): 1}) == 1
    assert table.score({("store:commit_transition", "workflow", "kill"): 1}) == 0  # off grid
    assert table.score({("after_claim", "finish", "kill"): 0}) == 0  # counted, not hit
    assert table.score({}) == 0  # no fault landed


def test_steering_with_target_fills_more_cells_than_the_same_rounds_unsteered(
        tmp_path: Path) -> None:
    covered: dict[int, tuple[int, int]] = {}
    for seed in SEEDS:
        plain, plain_scenarios, _ = _campaign(tmp_path / str(seed), seed, BUDGET,
                                              steer=False)
        steered, steered_scenarios, _ = _campaign(tmp_path / str(seed), seed, BUDGET,
                                                  steer=True)
        assert plain.scenarios == steered.scenarios == BUDGET
        covered[seed] = (steered.coverage.covered(), plain.coverage.covered())
        # Same rounds: until the first optimisation (example 15) both draw the same
        # scenarios; from then on the hill climber (steered only) picks what runs next.
        assert plain_scenarios[:15] == steered_scenarios[:15], seed
        assert plain_scenarios != steered_scenarios, seed
    steered_total = sum(s for s, _ in covered.values())
    plain_total = sum(p for _, p in covered.values())
    assert steered_total > plain_total, covered
    assert sum(s > p for s, p in covered.values()) > len(SEEDS) // 2, covered


def test_the_same_seed_gives_the_same_scenarios_and_the_same_coverage(
        tmp_path: Path) -> None:
    first, scenarios, curve = _campaign(tmp_path / "a", 3, 45, steer=True)
    again, scenarios_again, curve_again = _campaign(tmp_path / "b", 3, 45, steer=True)
    assert scenarios == scenarios_again and curve == curve_again
    assert first.coverage.counts == again.coverage.counts
    assert [s.name for s in scenarios[:2]] == ["hypothesis_3_0", "hypothesis_3_1"]
    assert scenarios[30].name == "hypothesis_4_0"  # the second round has the next seed


def test_the_source_says_whether_it_is_steered_and_why_not() -> None:
    sim = load_adapter("reference", "sim")()

    def describe(adapter: object, generator: str = "hypothesis", steer: bool = True) -> str:
        options = FuzzOptions(1.0, 0, generator, steer=steer)
        return source_description(options, adapter)  # type: ignore[arg-type]  # an adapter

    assert "steered by hypothesis.target() toward uncovered kill-point cells" in describe(sim)
    assert describe(sim, steer=False).endswith("not steered (--no-steer)")
    assert describe(ReferenceAdapter("embedded")).endswith(
        "not steered (tier embedded reports no kill-point coverage)")
    assert describe(sim, "seeded").startswith("seeded")


def test_fuzz_prints_its_source_and_the_cells_it_covered(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--max-time", "60", "--max-examples", "6", "--seed", "2",
                 "--generator", "hypothesis", "--tier", "sim", "--out", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert code in (0, 1), lines
    assert lines[0].startswith("wfconform fuzz: engine reference, tier sim, seed 2, "
                               "generator hypothesis") and "at most 6 scenarios" in lines[0]
    assert lines[1] == ("  source: Hypothesis rounds of 30 examples, steered by "
                        "hypothesis.target() toward uncovered kill-point cells")
    assert lines[-1].startswith("fuzz: 6 scenarios in ") and "kill-point cells " in lines[-1]


def test_an_error_in_the_visitor_propagates_as_it_is_without_a_replay() -> None:
    knobs = knobs_for(load_adapter("reference", "sim")())
    calls: list[str] = []

    def visit(seed: int, scenario: Scenario) -> int:
        calls.append(scenario.name)
        if len(calls) == 2:
            raise ValueError("the adapter broke")
        return 0

    with pytest.raises(ValueError, match="the adapter broke"):
        hypothesis_rounds(8, knobs, visit, steer=True)
    assert calls == ["hypothesis_8_0", "hypothesis_8_1"]  # Hypothesis did not rerun it

    def stop(seed: int, scenario: Scenario) -> int:
        raise StopSource

    with pytest.raises(StopSource):
        hypothesis_rounds(8, knobs, stop, steer=False)
