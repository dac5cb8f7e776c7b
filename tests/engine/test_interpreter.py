"""The pure core: outline interpretation over checkpoints, no I/O."""

from __future__ import annotations

import pytest

from reference_engine.core.checkpoint import Checkpoint
from reference_engine.core.interpreter import advance
from reference_engine.core.outline import compile_outline, if_, while_
from reference_engine.errors import CorruptCheckpointError
from tests.engine.workflows import BadContext, Failing, Loop, ThreeSteps, Trivial


def run_to_end(cls: type, inputs: dict[str, object]) -> tuple[list[str], object]:
    checkpoint, views, steps, next_id = Checkpoint(), {}, [], 100
    for _ in range(100):
        t = advance(cls, 1, inputs, checkpoint, views)
        steps.append(t.step)
        if t.outcome in ("finished", "excepted"):
            return steps, t
        awaiting = {}
        for req in t.launches:
            next_id += 1
            awaiting[req.key] = next_id
            views[next_id] = {"id": next_id, "state": "finished", "exit_status": 0,
                              "outputs": {"result": 2 * req.inputs.get("x", 0),
                                          "sum": sum(v for v in req.inputs.values()
                                                     if isinstance(v, int)),
                                          "value": req.inputs.get("value")},
                              "cached_from": None}
        checkpoint = Checkpoint(t.checkpoint.pc, t.checkpoint.ctx, t.checkpoint.outputs,
                                awaiting, t.checkpoint.steps_done)
    raise AssertionError("did not finish")


def test_three_steps_wait_on_children_and_finish_with_outputs() -> None:
    steps, t = run_to_end(ThreeSteps, {"x": 2, "y": 3})
    assert steps == ["step1", "step2", "step3"]
    assert t.outcome == "finished" and t.outputs == {"total": 7, "seen": [1, 2, 3]}


def test_while_and_if_run_the_bounded_loop() -> None:
    steps, t = run_to_end(Loop, {"n": 4})
    assert t.outputs == {"seen": [2, 4]}
    assert steps.count("body") == 4


def test_trivial_workflow_finishes_in_one_transition() -> None:
    t = advance(Trivial, 1, {"x": 5}, Checkpoint(), {})
    assert (t.outcome, t.outputs, t.step) == ("finished", {"x": 5}, "only")


def test_exception_in_a_step_excepts_with_traceback() -> None:
    _, t = run_to_end(Failing, {"x": 1})
    assert t.outcome == "excepted" and t.step == "second"
    assert "second step is broken" in t.exception


def test_non_serialisable_context_excepts_naming_the_step() -> None:
    t = advance(BadContext, 1, {}, Checkpoint(), {})
    assert t.outcome == "excepted" and "put_object" in t.message and "object" in t.message


def test_checkpoint_round_trips_and_corruption_is_detected() -> None:
    cp = Checkpoint(2, {"a": [1, 1.0, True]}, {"o": "x"}, {"k": 7}, 2)
    assert Checkpoint.from_json(cp.to_json(), 1, 4) == cp
    for bad in ("{not json", '{"format": 9}', '{"format":1,"pc":99,"ctx":{},"outputs":{},'
                '"awaiting":{}}'):
        with pytest.raises(CorruptCheckpointError):
            Checkpoint.from_json(bad, 1, 4)


def test_compile_outline_lays_out_jumps() -> None:
    program = compile_outline(("a", if_("c")("b").else_("d"), while_("w")("e")))
    assert program == (
        ("step", "a"), ("jump_if_not", "c", 4), ("step", "b"), ("jump", 5), ("step", "d"),
        ("jump_if_not", "w", 8), ("step", "e"), ("jump", 5), ("end",),
    )
