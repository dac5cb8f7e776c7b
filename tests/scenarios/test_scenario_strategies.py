"""Hypothesis strategies produce valid parts, cover the interesting cases and shrink small."""

from __future__ import annotations

from random import Random

from hypothesis import find, given, settings
from hypothesis import strategies as st

from scenarios import (
    Capabilities,
    KillAtCrashpoint,
    Relaunch,
    Scenario,
    Workflow,
    canonical,
    describe,
    expect,
    iter_steps,
)
from scenarios.strategies import (
    calculations,
    fault_plans,
    launch_plans,
    scenarios,
    values,
    workflows,
)


@given(scenarios())
def test_drawn_scenarios_are_valid_and_the_oracle_accepts_them(scenario):
    scenario.validate()
    expectation = expect(scenario, Capabilities.everything())
    assert set(expectation.launches) == set(scenario.launch_labels())


@given(scenarios(max_steps=20))
def test_the_largest_size_stays_within_twenty_steps(scenario):
    total = sum(1 for w in scenario.workflows for _ in iter_steps(w.steps))
    assert total <= 20
    assert scenario.workflows[0].steps


@given(calculations().flatmap(lambda calcs: st.tuples(st.just(calcs), workflows(calcs))))
def test_drawn_workflows_only_call_drawn_calculations(pair):
    calcs, flows = pair
    names = {c.name for c in calcs}
    for workflow in flows:
        for step in iter_steps(workflow.steps):
            for call in getattr(step, "calls", ()):
                assert call.calc in names


@given(st.data())
def test_fault_and_launch_plans_fit_the_workflows_they_were_drawn_for(data):
    calcs = data.draw(calculations())
    flows = data.draw(workflows(calcs))
    faults = data.draw(fault_plans(flows, calcs))
    plan = data.draw(launch_plans(flows, calcs, faults))
    Scenario("drawn", flows, calcs, plan, faults).validate()


# A fixed Random per test: the result judges the encoding, not the search's luck.
SHRINK = settings(database=None, max_examples=200)


def test_shrinking_finds_a_small_scenario_with_a_relaunch():
    found = find(scenarios(), lambda s: any(isinstance(op, Relaunch) for op in s.launches),
                 settings=SHRINK, random=Random(1))
    # Shrinking is a search: it always ends at the two launches a relaunch needs and at
    # most two workflows, but how many steps it drops depends on the generator's menu
    # (1-3 steps alone in 2026-11; 5-6 since typed values and near pairs joined it).
    # Generated scenarios start at up to 8 steps in each of up to 2 workflows.
    assert len(found.workflows) <= 2 and len(found.launches) == 2
    assert sum(1 for w in found.workflows for _ in iter_steps(w.steps)) <= 8
    assert len(describe(found).splitlines()) <= 16  # 12 for the 6-step witness


def test_shrinking_finds_a_minimal_crashpoint_kill():
    found = find(scenarios(), lambda s: any(isinstance(f, KillAtCrashpoint)
                                            for f in s.faults), settings=SHRINK,
                 random=Random(0))
    assert len(found.faults) == 1 and found.faults[0].attempt == 1


def test_values_reach_the_hashing_traps():
    for trap in (1.0, True, "1", -0.0, 2**70, {}):
        find(values(), lambda v, trap=trap: canonical(v) == canonical(trap))
    find(values(), lambda v: isinstance(v, float) and v != v)


def test_workflows_strategy_builds_workflows_named_main_first():
    flows = find(workflows(), lambda fs: len(fs) == 2)
    assert isinstance(flows[0], Workflow) and flows[0].name == "Main"
