"""Faults that meet in one body: a kill at a raising body's journal entry pre-empts the raise.

The nemesis lands a fault "at journal entry k" while the body that wrote entry k waits
between its entry and its checkpoint, before it can raise (the gate). So where the model
knows which body writes entry k, a `KillOnEffect(k)` is a certain kill there: the raise
never happens, the attempt is consumed and the retry is the next attempt. Where a fault
only may land in that window, and the retry would not raise, the launch is undecided.
Found by `wfconform fuzz --seed 1` on the sim tier (generated_69).
"""

from __future__ import annotations

import dataclasses

from scenarios import (
    CalcCall,
    Capabilities,
    Compute,
    Const,
    Input,
    KillOnEffect,
    Launch,
    LaunchCalcs,
    RaiseIn,
    Relaunch,
    RestartBroker,
    RestartDatabase,
    Scenario,
    Workflow,
    expect,
    generate,
)
from scenarios.catalog import ADD, STEPS

CAPS = Capabilities.everything()
MAIN = Workflow("Main", ("x",), (Compute("step1", Const(0)), Compute("step3", Input("x"))))
"""The fuzz witness: step1 raises on attempt 1 and the worker is killed at entry 1."""


def run(*faults, workflow=MAIN, calcs=(), launches=None):
    launches = launches or (Launch("A", workflow.name, {"x": 0}),)
    return expect(Scenario("s", (workflow,), calcs, launches, faults), CAPS)


def bound(expectation, key) -> tuple[int, int | None]:
    found = expectation.bound(key)
    assert found is not None, key
    return found.min, found.max


def test_a_kill_at_the_entry_of_a_raising_body_pre_empts_the_raise():
    e = run(KillOnEffect(1), RaiseIn("Main.step1", 1))
    assert e.launches["A"].state == "finished" and e.launches["A"].exit_status == 0
    assert bound(e, "A/step1") == (2, 2)  # attempt 1 killed at its entry, attempt 2 runs on
    assert bound(e, "A/step3") == (1, 1)
    assert e.launches["A"].worker_kills == 1
    assert {"C1", "C3", "C4"} <= e.exercises
    assert any(r.a == r.b == "A" and r.same for r in e.ids)  # continued, same id
    assert not e.undecided


def test_the_pre_empted_launch_returns_the_outputs_of_a_run_without_faults():
    e = run(KillOnEffect(2), RaiseIn("Steps.s2", 1), workflow=STEPS)
    calm = run(workflow=STEPS)
    assert e.launches["A"].outputs == calm.launches["A"].outputs == {"out": 0}
    assert bound(e, "A/s2") == (2, 2)


def test_the_order_of_the_faults_in_the_plan_does_not_matter():
    assert run(KillOnEffect(1), RaiseIn("Main.step1", 1)).launches == \
        run(RaiseIn("Main.step1", 1), KillOnEffect(1)).launches


def test_a_body_that_raises_on_every_attempt_raises_again_after_the_kill():
    e = run(KillOnEffect(1), RaiseIn("Main.step1", None))
    assert e.launches["A"].state == "excepted"
    assert bound(e, "A/step1") == (2, 2)
    assert bound(e, "A/step3") == (0, 0)


def test_the_retry_after_a_kill_at_a_known_entry_is_the_next_attempt():
    e = run(KillOnEffect(1), RaiseIn("Main.step1", 2))
    assert e.launches["A"].state == "excepted"  # the retry is attempt 2, which raises
    assert bound(e, "A/step1") == (2, 2)
    assert bound(e, "A/step3") == (0, 0)


def test_a_kill_at_another_body_leaves_the_raise_in_place():
    before = run(KillOnEffect(1), RaiseIn("Main.step3", 1))
    assert before.launches["A"].state == "excepted"
    assert bound(before, "A/step1") == (2, 2) and bound(before, "A/step3") == (1, 1)
    after = run(KillOnEffect(2), RaiseIn("Main.step1", 1))  # entry 2 never comes
    assert after.launches["A"].state == "excepted"
    assert bound(after, "A/step1") == (1, 1) and after.launches["A"].worker_kills == 0
    assert "never fires" in after.notes[0]


def test_a_raise_without_a_kill_excepts_the_launch():
    e = run(RaiseIn("Main.step1", 1))
    assert e.launches["A"].state == "excepted"
    assert bound(e, "A/step1") == (1, 1)
    assert bound(e, "A/step3") == (0, 0)


def test_a_relaunch_after_the_pre_empted_raise_runs_without_faults():
    e = run(KillOnEffect(1), RaiseIn("Main.step1", 1),
            launches=(Launch("A", "Main", {"x": 0}), Relaunch("B", "A")))
    assert e.launches["A"].state == e.launches["B"].state == "finished"
    assert bound(e, "B/step1") == (1, 1)


def test_a_calculation_killed_at_its_entry_is_retried_and_its_parent_finishes():
    wf = Workflow("Main", ("x",), (LaunchCalcs("calc", (CalcCall("add", {"x": Input("x")}),)),),
                  {"sum": Input("x")})
    e = run(KillOnEffect(2), RaiseIn("calc:add", 1), workflow=wf, calcs=(ADD,))
    assert e.launches["A"].state == "finished" and e.launches["A"].exit_status == 0
    assert bound(e, "A/calc/0:add")[0] == 2  # (+1 at most: the parent step may redo)


def test_a_service_fault_at_the_raising_entry_races_the_raise_so_the_launch_is_undecided():
    for fault in (RestartBroker(1), RestartDatabase(1)):
        e = run(fault, RaiseIn("Main.step1", 1))
        assert not e.launches["A"].decided, fault
        assert "pre-empts the raise" in e.undecided[0]


def test_a_kill_at_an_entry_one_of_several_siblings_may_write_is_undecided_for_a_raise():
    wf = Workflow("Main", ("x",), (LaunchCalcs("fan", (
        CalcCall("add", {"x": Input("x")}), CalcCall("add", {"y": Input("x")}))),))
    e = run(KillOnEffect(2), RaiseIn("calc:add", 1), workflow=wf, calcs=(ADD,))
    assert not e.launches["A"].decided
    every = run(KillOnEffect(2), RaiseIn("calc:add", None), workflow=wf, calcs=(ADD,))
    assert every.launches["A"].decided  # retried or not, every attempt raises


def test_a_possible_redo_that_would_be_a_raising_attempt_makes_the_launch_undecided():
    e = run(RestartDatabase(1), RaiseIn("Main.step1", 2))
    assert not e.launches["A"].decided
    assert "Main.step1 attempt 2" in e.undecided[0]


def test_reversing_the_fault_plan_never_changes_a_prediction():
    for seed in range(300):
        scenario = generate(seed)
        flipped = dataclasses.replace(scenario, faults=scenario.faults[::-1])
        e, f = expect(scenario, CAPS), expect(flipped, CAPS)
        assert e.launches == f.launches, seed
        assert {k: (b.min, b.max) for k, b in e.effects.items()} == \
            {k: (b.min, b.max) for k, b in f.effects.items()}, seed
