"""`generate(seed)` is deterministic, fast, valid, varied and biased as documented."""

from __future__ import annotations

from collections import Counter

import pytest

from scenarios import (
    FAULT_KINDS,
    OUTAGE_KINDS,
    STEP_KINDS,
    Capabilities,
    InvalidScenarioError,
    KillAtCrashpoint,
    Launch,
    RaiseIn,
    Relaunch,
    SetCaching,
    fault_kind,
    generate,
    iter_steps,
    step_kind,
)

DRAWS = 1000


def draw_counts(n: int = DRAWS, **knobs) -> tuple[Counter[str], Counter[str], list]:
    steps: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    drawn = []
    for seed in range(n):
        scenario = generate(seed, **knobs)
        drawn.append(scenario)
        for workflow in scenario.workflows:
            steps.update(step_kind(s) for s in iter_steps(workflow.steps))
        faults.update(fault_kind(f) for f in scenario.faults)
    return steps, faults, drawn


@pytest.fixture(scope="module")
def thousand():
    return draw_counts()


def test_the_same_seed_gives_the_same_scenario():
    for seed in (0, 1, 7, 2**40, -3):
        assert generate(seed) == generate(seed)
        assert generate(seed).to_json() == generate(seed).to_json()


def test_different_seeds_give_different_scenarios(thousand):
    _, _, drawn = thousand
    assert len({s.to_json() for s in drawn}) > 0.95 * DRAWS


def test_generated_scenarios_are_valid(thousand):
    _, _, drawn = thousand
    for scenario in drawn:
        scenario.validate()


def test_every_step_kind_and_fault_kind_occurs_in_a_thousand_draws(thousand):
    steps, faults, _ = thousand
    print(f"\nstep kinds over {DRAWS} draws: {dict(steps)}")
    print(f"fault kinds over {DRAWS} draws: {dict(faults)}")
    assert set(steps) == set(STEP_KINDS)
    assert set(faults) == set(FAULT_KINDS) - set(OUTAGE_KINDS)  # those only when asked


def test_faults_are_biased_toward_checkpoints(thousand):
    _, _, drawn = thousand
    points = Counter(f.crashpoint for s in drawn for f in s.faults
                     if isinstance(f, KillAtCrashpoint))
    near = points["after_effect_before_checkpoint"] + points["after_checkpoint_before_ack"]
    assert near > points["after_claim"] + points["before_effect"]


def test_an_exception_is_usually_followed_by_a_relaunch(thousand):
    _, _, drawn = thousand
    raising = [s for s in drawn if any(isinstance(f, RaiseIn) for f in s.faults)
               and len(s.launch_labels()) > 1]
    relaunched = [s for s in raising if any(isinstance(op, Relaunch) for op in s.launches)]
    assert len(relaunched) > 0.5 * len(raising)


def test_the_same_inputs_are_often_launched_twice(thousand):
    _, _, drawn = thousand
    twice = 0
    for scenario in drawn:
        seen = [op.inputs for op in scenario.launches if isinstance(op, Launch)]
        twice += any(seen[i] == seen[j] for i in range(len(seen)) for j in range(i))
    assert twice > 0.1 * DRAWS


def test_caching_is_configured_in_most_scenarios(thousand):
    _, _, drawn = thousand
    configured = sum(any(isinstance(op, SetCaching) for op in s.launches) for s in drawn)
    assert configured > 0.5 * DRAWS


def test_max_steps_bounds_the_steps_of_all_workflows_together():
    for max_steps in (1, 3, 20):
        for seed in range(200):
            scenario = generate(seed, max_steps=max_steps)
            total = sum(1 for w in scenario.workflows for _ in iter_steps(w.steps))
            assert total <= max_steps
            assert scenario.workflows[0].steps, "the launched workflow is never empty"


def test_twenty_steps_is_the_largest_size_and_works():
    assert generate(5, max_steps=20).validate()
    with pytest.raises(InvalidScenarioError, match="between 1 and 20"):
        generate(5, max_steps=21)


def test_fault_kinds_can_be_restricted():
    _, faults, _ = draw_counts(200, fault_kinds=frozenset({"raise_in"}))
    assert set(faults) == {"raise_in"}
    _, faults, _ = draw_counts(100, max_faults=0)
    assert not faults


def test_capabilities_restrict_crashpoints_to_what_the_engine_can_arm():
    caps = Capabilities(frozenset(), "never", frozenset(), frozenset({"before_effect"}),
                        frozenset())
    _, _, drawn = draw_counts(300, capabilities=caps)
    used = {f.crashpoint for s in drawn for f in s.faults if isinstance(f, KillAtCrashpoint)}
    assert used == {"before_effect"}


def test_unknown_knob_values_are_rejected():
    with pytest.raises(InvalidScenarioError, match="fault_kinds"):
        generate(1, fault_kinds=frozenset({"meteor"}))
    with pytest.raises(TypeError):
        generate(1, colour="red")
    with pytest.raises(InvalidScenarioError, match="an int"):
        generate("1")  # type: ignore[arg-type]  # the error under test
