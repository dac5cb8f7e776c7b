"""Advance a workflow by one step: the pure heart of the engine.

``advance`` takes a checkpoint and the views of finished children, runs control flow up
to and including one step body, then keeps running control flow until the next step or
the end, and returns a ``Transition``: the next checkpoint plus what the runtime must do
(launch children, wait, continue, finish, or record an exception). It does no I/O; the
runtime commits the transition atomically. ``hooks`` let the runtime place crashpoints
exactly around the effect.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from reference_engine.core.checkpoint import Checkpoint
from reference_engine.core.limits import check_name, check_stored
from reference_engine.core.process import ChildRequest, ExitCode, WorkChain
from reference_engine.core.values import JsonValue

Outcome = Literal["continue", "wait", "finished", "excepted"]
CONTROL_FLOW_BUDGET = 10_000


@dataclass(frozen=True)
class Transition:
    outcome: Outcome
    checkpoint: Checkpoint
    step: str | None = None
    launches: tuple[ChildRequest, ...] = ()
    exit_status: int | None = None
    message: str = ""
    exception: str | None = None
    outputs: dict[str, JsonValue] = field(default_factory=dict)

    def __init__(
        self,
        outcome: Outcome,
        checkpoint: Checkpoint,
        step: str | None = None,
        launches: tuple[ChildRequest, ...] = (),
        exit_status: int | None = None,
        message: str = "",
        exception: str | None = None,
        outputs: dict[str, JsonValue] | None = None,
    ) -> None:
        """The generated frozen ``__init__``, at half the cost (see ``Checkpoint``)."""
        self.__dict__.update(
            outcome=outcome, checkpoint=checkpoint, step=step, launches=launches,
            exit_status=exit_status, message=message, exception=exception,
            outputs={} if outputs is None else outputs,
        )


def _noop(step: str) -> None:
    return None


def advance(
    cls: type[WorkChain],
    process_id: int,
    inputs: dict[str, JsonValue],
    checkpoint: Checkpoint,
    child_views: dict[int, dict[str, JsonValue]],
    attempt: int = 1,
    before_effect: Callable[[str], None] = _noop,
    after_effect: Callable[[str], None] = _noop,
) -> Transition:
    """Run one step of ``cls`` from ``checkpoint``; never raises for user-code errors."""
    program = cls.program()
    ctx = dict(checkpoint.ctx)
    for key, child_id in checkpoint.awaiting.items():
        ctx[key] = child_views[child_id]
    proc = cls(process_id, inputs, ctx, dict(checkpoint.outputs), attempt)
    pc, ran_step, budget = checkpoint.pc, None, CONTROL_FLOW_BUDGET
    try:
        while True:
            budget -= 1
            if budget < 0:
                raise RuntimeError("outline ran 10000 control-flow instructions without a step")
            ins = program[pc]
            if ins[0] == "end":
                return _finish(proc, pc, checkpoint, ran_step)
            if ins[0] == "jump":
                pc = ins[1]
            elif ins[0] == "jump_if_not":
                pc = pc + 1 if getattr(proc, ins[1])() else ins[2]
            elif ran_step is not None:  # the next step: stop here, checkpoint before it
                return _after_step(proc, pc, checkpoint, ran_step, "continue")
            else:
                ran_step = proc.step = ins[1]
                before_effect(ran_step)
                result = getattr(proc, ran_step)()
                after_effect(ran_step)
                pc += 1
                if isinstance(result, ExitCode) and result.status != 0:
                    return _after_step(proc, pc, checkpoint, ran_step, "finished", result)
                if proc.requests:
                    return _after_step(proc, pc, checkpoint, ran_step, "wait")
    except Exception as exc:  # user code failed: the process is excepted, with the reason
        return Transition(
            "excepted",
            checkpoint,
            step=ran_step or proc.step or None,
            exception="".join(traceback.format_exception(exc)),
            message=f"{type(exc).__name__}: {exc}",
        )


def _after_step(
    proc: WorkChain,
    pc: int,
    old: Checkpoint,
    step: str,
    outcome: Outcome,
    exit_code: ExitCode | None = None,
) -> Transition:
    check_stored(proc.ctx, f"context of process {proc.process_id} after step {step!r}")
    check_stored(proc.outputs, f"outputs of process {proc.process_id}")
    for req in proc.requests:
        check_name(req.key, f"ctx key of a child launched by step {step!r}")
        check_name(req.label, f"label of child {req.key!r} launched by step {step!r}")
        check_stored(req.inputs, f"inputs of child {req.key!r} launched by step {step!r}")
    keys = [r.key for r in proc.requests]
    if len(set(keys)) != len(keys):
        raise ValueError(f"step {step!r} launched two children under one ctx key: {keys}")
    new = Checkpoint(pc, proc.ctx, proc.outputs, {}, old.steps_done + 1)
    if exit_code is not None:
        return Transition(
            "finished",
            new,
            step,
            exit_status=exit_code.status,
            message=exit_code.message,
            outputs=proc.outputs,
        )
    return Transition(outcome, new, step, launches=tuple(proc.requests))


def _finish(proc: WorkChain, pc: int, old: Checkpoint, step: str | None) -> Transition:
    check_stored(proc.outputs, f"outputs of process {proc.process_id}")
    if step is not None:
        check_stored(proc.ctx, f"context of process {proc.process_id} after step {step!r}")
    new = Checkpoint(pc, proc.ctx, proc.outputs, {}, old.steps_done + (step is not None))
    return Transition("finished", new, step, exit_status=0, outputs=proc.outputs)
