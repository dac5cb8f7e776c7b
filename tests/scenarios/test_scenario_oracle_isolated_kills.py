"""Where a kill's landing point is known, the oracle's bounds are exact (isolated kills).

An engine that declares `Capabilities.isolated_kills` (one task per worker, children
created in the commit of their parent step's checkpoint) loses only the task a kill
landed in: the waiting parent step never runs again, siblings and children are never
"in flight in the killed worker", and a kill before a launching step's checkpoint
leaves no orphans. Without the declaration (AiiDA) the loose model stays, because a
daemon worker runs the parent and its children at once and submits children before
checkpointing.
"""

from __future__ import annotations

import dataclasses

import pytest

from scenarios import (
    CalcCall,
    Capabilities,
    Const,
    Input,
    InvalidScenarioError,
    KillAtCrashpoint,
    KillOnEffect,
    Launch,
    LaunchCalcs,
    Relaunch,
    Scenario,
    SetCaching,
    Workflow,
    expect,
)
from scenarios.catalog import ADD, ADD_THREE

LOOSE = Capabilities.everything()
ISOLATED = dataclasses.replace(LOOSE, isolated_kills=True)
ABC = (Launch("A", "AddThreeNumbers", {"x": 1, "y": 2, "z": 3}),)
KEYS = ("A/add_xy", "A/add_xy/0:add", "A/add_xyz", "A/add_xyz/0:add", "A/result")


def counts(fault, caps=ISOLATED, launches=ABC) -> dict[str, tuple[int, int | None]]:
    e = expect(Scenario("s", (ADD_THREE,), (ADD,), launches, (fault,)), caps)
    assert not e.undecided
    return {key: (b.min, b.max) for key, b in e.effects.items()}


def exactly(**twice: int) -> dict[str, tuple[int, int]]:
    runs = {key: (1, 1) for key in KEYS}
    runs.update({key: (n, n) for key, n in twice.items()})
    return runs


@pytest.mark.parametrize("crashpoint", ["after_claim", "before_effect",
                                        "after_checkpoint_before_ack"])
def test_a_childs_kill_without_redo_leaves_every_count_exact(crashpoint: str):
    assert counts(KillAtCrashpoint(crashpoint, "calc:add", 1)) == exactly()


def test_a_childs_kill_before_its_checkpoint_redoes_exactly_that_child():
    fault = KillAtCrashpoint("after_effect_before_checkpoint", "calc:add", 1)
    assert counts(fault) == {**exactly(), "A/add_xy/0:add": (2, 2)}
    assert counts(fault, LOOSE)["A/add_xy"] == (1, 2)  # loose: the parent step may redo


def test_a_placed_kill_at_a_childs_entry_redoes_exactly_that_child():
    assert counts(KillOnEffect(2)) == {**exactly(), "A/add_xy/0:add": (2, 2)}
    assert counts(KillOnEffect(2), LOOSE)["A/add_xy/0:add"] == (2, 3)


def test_a_kill_while_waiting_finds_no_child_in_flight():
    fault = KillAtCrashpoint("while_waiting", "AddThreeNumbers.add_xy", 1)
    assert counts(fault) == exactly()
    assert counts(fault, LOOSE)["A/add_xy/0:add"] == (1, 2)


def test_a_kill_before_a_launching_steps_checkpoint_leaves_no_orphans():
    fault = KillAtCrashpoint("after_effect_before_checkpoint", "AddThreeNumbers.add_xy", 1)
    launches = (SetCaching(True), *ABC, Relaunch("B", "A"))
    e = expect(Scenario("s", (ADD_THREE,), (ADD,), launches, (fault,)), ISOLATED)
    assert (e.bound("A/add_xy").min, e.bound("A/add_xy").max) == (2, 2)
    assert (e.bound("A/add_xy/0:add").min, e.bound("A/add_xy/0:add").max) == (1, 1)
    assert e.cache["A/add_xy/0:add"].hit is False  # no orphan copy to hit
    assert e.cache["B/add_xy/0:add"].hit is True
    loose = expect(Scenario("s", (ADD_THREE,), (ADD,), launches, (fault,)), LOOSE)
    assert loose.bound("A/add_xy/0:add").max == 2


def test_a_siblings_kill_does_not_put_the_other_sibling_in_flight():
    two = Workflow("Two", ("x",), (LaunchCalcs("calc1", (
        CalcCall("add", {"x": Input("x"), "y": Const(1)}),
        CalcCall("add", {"x": Input("x"), "y": Const(2)}),
    )),), {})
    fault = KillAtCrashpoint("after_effect_before_checkpoint", "calc:add", 1)
    e = expect(Scenario("s", (two,), (ADD,), (Launch("A", "Two", {"x": 0}),), (fault,)),
               ISOLATED)
    # either call may be the one killed (attempt 1 goes to whichever begins first):
    # each runs once or twice, and nothing else widens them
    for key in ("A/calc1/0:add", "A/calc1/1:add"):
        assert (e.bound(key).min, e.bound(key).max) == (1, 2)
    assert (e.bound("A/calc1").min, e.bound("A/calc1").max) == (1, 1)


def test_isolated_kills_must_be_a_bool():
    with pytest.raises(InvalidScenarioError, match="isolated_kills"):
        dataclasses.replace(LOOSE, isolated_kills="yes")
