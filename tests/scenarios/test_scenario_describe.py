"""`describe` prints a scenario as a short program a person can read in a failure report."""

from __future__ import annotations

import math

from scenarios import (
    CATALOG,
    Calculation,
    Compute,
    Const,
    DropConnection,
    KillAtCrashpoint,
    KillOnEffect,
    Launch,
    RestartBroker,
    RestartDatabase,
    Scenario,
    Workflow,
    by_name,
    describe,
    describe_fault,
    describe_value,
    generate,
)


def test_the_add_three_numbers_story_reads_like_the_issue_says():
    assert describe(by_name("add_three_numbers_relaunch_uncached")) == (
        "scenario add_three_numbers_relaunch_uncached [N3]\n"
        "# add_xyz raises on its first attempt; the relaunch is a new instance and, without "
        "caching, runs add_xy again\n"
        "calculations: add\n"
        "workflow AddThreeNumbers(x, y, z):\n"
        "  add_xy: launch add(x=x, y=y)\n"
        "  add_xyz: launch add(x=add_xy.0.sum, y=z)\n"
        "  result: compute add_xyz.0.sum\n"
        "  return sum=result.value\n"
        "faults: raise in AddThreeNumbers.add_xyz on attempt 1\n"
        "launch A = AddThreeNumbers(x=1, y=2, z=3)\n"
        "relaunch B of A"
    )


def test_loops_branches_and_sub_workflows_are_indented_blocks():
    text = describe(by_name("p1_kill_propagates_to_children"))
    assert "  inner: run Inner(n=start.value)" in text
    assert "  repeat: repeat n times, at most 3:\n    tick: launch add(i=repeat.iteration, n=n)" \
        in text
    assert "  check: if n:\n    yes: compute True\n  else:\n    no: compute False" in text
    assert "kill A at its entry 3" in text


def test_values_that_look_alike_are_printed_differently():
    shown = {describe_value(v) for v in (1, 1.0, True, "1", 0.0, -0.0, "caf\u00e9",
                                         "cafe\u0301")}
    assert len(shown) == 8
    assert describe_value(2**70) == "2**70"
    assert describe_value(math.nan) == "nan"


def test_every_fault_kind_has_a_phrase():
    phrases = [describe_fault(f) for f in (
        KillAtCrashpoint("while_waiting", "W.s", 2), KillOnEffect(3), RestartBroker(4, True),
        RestartDatabase(5), DropConnection(6))]
    assert phrases == ["kill at while_waiting in W.s on attempt 2", "kill worker on entry 3",
                       "restart broker (hard) at entry 4", "restart database at entry 5",
                       "drop connections at entry 6"]


def test_calculation_flags_are_shown_only_when_not_default():
    scenario = Scenario("s", (Workflow("W", (), (Compute("c", Const(1)),)),),
                        (Calculation("f", "add", cacheable=False, exit_status=320,
                                     invalidates_cache=True, version=2),),
                        (Launch("A", "W", {}),))
    assert "calculations: f [add, exit 320 invalidating cache, not cacheable, v2]" in describe(
        scenario)


def test_every_catalog_and_generated_scenario_can_be_described_briefly():
    for scenario in (*CATALOG, *(generate(seed) for seed in range(100))):
        text = describe(scenario)
        assert text.startswith(f"scenario {scenario.name}")
        assert len(text.splitlines()) < 60
