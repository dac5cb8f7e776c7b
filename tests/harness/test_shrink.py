"""The shrinker keeps the failing clause, is deterministic, respects its budget, and every
edit it tries is a valid scenario. Runs are faked here: the shrinker only sees verdicts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.checks import ClauseResult
from harness.runner import ScenarioRun
from harness.shrink import shrink
from harness.shrink_edits import candidates, size
from scenarios.catalog import by_name
from scenarios.faults import KillAtCrashpoint
from scenarios.generate import generate
from scenarios.language import LaunchCalcs, iter_steps
from scenarios.plan import Launch
from scenarios.scenario import Scenario


def _fake(fails: Callable[[Scenario], bool]) -> Callable[[Scenario], ScenarioRun]:
    """A rerun that says "C2 failed" exactly when ``fails(scenario)``; counts its calls."""

    def rerun(scenario: Scenario) -> ScenarioRun:
        rerun.calls += 1  # type: ignore[attr-defined]  # a counter on the test double
        verdict = "fail" if fails(scenario) else "pass"
        return ScenarioRun(scenario, "ran", results=(ClauseResult("C2", verdict),))

    rerun.calls = 0  # type: ignore[attr-defined]  # see above
    return rerun


def _kills_s2(scenario: Scenario) -> bool:
    return any(isinstance(f, KillAtCrashpoint) and f.target == "Steps.s2"
               for f in scenario.faults) and any(
        s.name == "s2" for w in scenario.workflows for s in iter_steps(w.steps))


def test_shrinking_drops_everything_the_failure_does_not_need() -> None:
    original = by_name("c3_in_flight_effect_at_most_kills_plus_one")
    rerun = _fake(_kills_s2)
    result = shrink(original, rerun(original), "C2", rerun)
    shrunk = result.scenario
    assert result.complete and result.clause == "C2"
    assert len(shrunk.faults) == 1 and _kills_s2(shrunk)
    assert [s.name for s in iter_steps(shrunk.workflows[0].steps)] == ["s2"]
    assert shrunk.launches == (Launch("A", "Steps", {}),) and shrunk.workflows[0].inputs == ()
    assert result.after < result.before == size(original)
    assert "still fails C2" in shrunk.description


def test_shrinking_the_same_failure_twice_gives_the_same_witness() -> None:
    original = generate(8, max_steps=8)
    keep = {c.calc for w in original.workflows for s in iter_steps(w.steps)
            if isinstance(s, LaunchCalcs) for c in s.calls}

    def fails(s: Scenario) -> bool:  # "fails" while some call of the original calcs remains
        return any(isinstance(st, LaunchCalcs) and any(c.calc in keep for c in st.calls)
                   for w in s.workflows for st in iter_steps(w.steps))

    if not fails(original):
        pytest.fail("seed 8 must launch a calculation for this test to mean anything")
    first = shrink(original, _fake(fails)(original), "C2", _fake(fails))
    second = shrink(original, _fake(fails)(original), "C2", _fake(fails))
    assert first.scenario.to_json() == second.scenario.to_json()
    assert first.tries == second.tries and first.after < first.before


def test_shrinking_stops_at_its_budget_and_says_it_is_incomplete() -> None:
    original = by_name("k4_any_input_change_misses")
    rerun = _fake(lambda s: True)
    result = shrink(original, rerun(original), "C2", rerun, max_tries=3)
    assert result.tries == 3 and not result.complete
    assert "budget exhausted" in result.describe()


def test_a_candidate_that_passes_is_never_kept() -> None:
    original = by_name("c2_checkpointed_effect_not_repeated")
    rerun = _fake(lambda s: s == original)
    result = shrink(original, rerun(original), "C2", rerun)
    assert result.scenario == original and result.steps == 0 and result.complete


@pytest.mark.parametrize("seed", range(12))
def test_every_candidate_edit_is_a_valid_different_scenario(seed: int) -> None:
    original = generate(seed, max_steps=10, max_launches=4, max_faults=3)
    seen = set()
    for candidate in candidates(original):
        assert candidate.validate() is candidate
        text = candidate.to_json()
        assert text != original.to_json()
        seen.add(text)
    assert seen, "a generated scenario always has something to shrink"
