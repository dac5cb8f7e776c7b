"""Sibling calls of one type: a fault on attempt n may land on whichever call begins first.

Attempts count the order in which workers *begin* a target's bodies, and the calls of
one `LaunchCalcs` step run concurrently, so the oracle must not give attempt 1 to the
first call in call order (found by `wfconform fuzz --tier sim`: hypothesis_50_8 and
generated_3135, replayed in tests/sim/test_oracle_sibling_regressions.py).
"""

from __future__ import annotations

from scenarios import (
    CHILD_FAILED_EXIT_STATUS,
    CalcCall,
    Capabilities,
    Const,
    Input,
    KillAtCrashpoint,
    Launch,
    LaunchCalcs,
    RaiseIn,
    Relaunch,
    Scenario,
    SetCaching,
    Workflow,
    expect,
)
from scenarios.catalog import ADD

CAPS = Capabilities.everything()
TWO = Workflow("Two", ("x",), (LaunchCalcs("calc1", (
    CalcCall("add", {"x": Input("x"), "y": Const(1)}),
    CalcCall("add", {"x": Input("x"), "y": Const(2)}),
)),), {})
"""One step, two calls of `add` with different inputs."""
C0, C1 = "A/calc1/0:add", "A/calc1/1:add"


def run(*faults, workflow=TWO, launches=None):
    launches = launches or (Launch("A", workflow.name, {"x": 0}),)
    return expect(Scenario("s", (workflow,), (ADD,), launches, faults), CAPS)


def bound(expectation, key) -> tuple[int, int | None]:
    found = expectation.bound(key)
    assert found is not None, key
    return found.min, found.max


def test_a_raise_on_attempt_one_may_land_on_either_sibling():
    e = run(RaiseIn("calc:add", 1))
    launch = e.launches["A"]
    assert launch.decided and launch.state == "finished"
    assert launch.exit_status == CHILD_FAILED_EXIT_STATUS  # one child raised: decided
    assert bound(e, C0) == bound(e, C1) == (1, 1)  # each call writes one entry either way
    assert "begins first" in e.effects[C1].reason


def test_neither_sibling_is_a_certain_source_when_either_may_have_raised():
    relaunch = (SetCaching(True), Launch("A", "Two", {"x": 0}), Relaunch("B", "A"))
    e = run(RaiseIn("calc:add", 1), launches=relaunch)
    assert not e.undecided
    for index in (0, 1):  # was: call 1 a certain hit, call 0 a certain miss
        found = e.cache[f"B/calc1/{index}:add"]
        assert found.hit is None
        assert found.sources == (f"A/calc1/{index}:add",)
        assert bound(e, f"B/calc1/{index}:add") == (0, 1)


def test_a_redo_kill_on_attempt_one_may_redo_either_sibling():
    e = run(KillAtCrashpoint("after_effect_before_checkpoint", "calc:add", 1))
    assert not e.undecided
    assert e.launches["A"].worker_kills == 1
    low0, high0 = bound(e, C0)
    low1, high1 = bound(e, C1)
    assert low0 == low1 == 1  # was 2 for call 0: the kill may have landed on call 1
    assert high0 == high1 >= 2  # whichever call it landed on runs once more


def test_a_kill_before_the_effect_changes_no_sibling_count():
    e = run(KillAtCrashpoint("before_effect", "calc:add", 1))
    assert bound(e, C0)[0] == bound(e, C1)[0] == 1
    assert bound(e, C0) == bound(e, C1)


def test_a_fault_on_an_attempt_after_the_siblings_is_left_exact():
    two_launches = (Launch("A", "Two", {"x": 0}), Launch("B", "Two", {"x": 5}))
    e = run(RaiseIn("calc:add", 3), launches=two_launches)
    assert e.launches["A"].exit_status == 0  # attempts 1 and 2: no fault in A's group
    assert "begins first" not in e.effects[C0].reason
    assert e.launches["B"].exit_status == CHILD_FAILED_EXIT_STATUS


def test_a_single_runnable_call_of_the_type_takes_its_attempt_exactly():
    one = Workflow("One", ("x",), (LaunchCalcs("calc1", (
        CalcCall("add", {"x": Input("x"), "y": Const(1)}),)),), {})
    relaunch = (SetCaching(True), Launch("A", "One", {"x": 0}), Relaunch("B", "A"))
    e = run(RaiseIn("calc:add", 1), workflow=one, launches=relaunch)
    assert e.cache["B/calc1/0:add"].hit is False  # the only call raised: no source
    assert bound(e, "B/calc1/0:add") == (1, 1)


def test_a_group_with_a_possible_hit_is_undecided():
    """Whether a possible hit consumes an attempt at all is timing too: no guess."""
    equal = Workflow("Equal", ("x",), (LaunchCalcs("calc1", (
        CalcCall("add", {"x": Input("x"), "y": Const(1)}),
        CalcCall("add", {"x": Input("x"), "y": Const(1)}),
    )),), {})
    e = run(RaiseIn("calc:add", 1), workflow=equal,
            launches=(SetCaching(True), Launch("A", "Equal", {"x": 0})))
    assert not e.launches["A"].decided
    assert any("may be a hit" in reason for reason in e.undecided)


def test_a_fault_on_every_attempt_is_not_ambiguous():
    e = run(RaiseIn("calc:add", None))
    assert bound(e, C0) == bound(e, C1) == (1, 1)
    assert "begins first" not in e.effects[C0].reason


def test_siblings_that_all_raise_stay_certain_non_sources():
    """A kill on attempt 1 makes the group ambiguous, but every attempt raises: every
    call ends excepted whichever began first, so none may serve as a source."""
    relaunch = (SetCaching(True), Launch("A", "Two", {"x": 0}), Relaunch("B", "A"))
    e = run(RaiseIn("calc:add", None), KillAtCrashpoint("before_effect", "calc:add", 1),
            launches=relaunch)
    assert not e.undecided
    assert e.cache["B/calc1/0:add"].hit is False
    assert e.cache["B/calc1/1:add"].hit is False
