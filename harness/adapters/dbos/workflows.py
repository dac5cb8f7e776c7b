"""The DBOS workflows and steps that run a scenario, as a DBOS user would write them.

Two workflows, registered when a worker imports this module:

- ``wfc.workflow(spec)``: one scenario workflow. It walks the outline with the shared
  interpreter (``next_action``: the first plain step not yet done), and runs each step's
  body as a DBOS **step** (``wfc.body``), whose output DBOS records: that record is the
  checkpoint. A launching step enqueues its children on the run's queue (calculations
  as ``wfc.calc`` workflows, a sub-workflow as ``wfc.workflow``), with ids made from the
  parent's id and the child's path, and awaits them with ``get_result`` (recorded too).
  On recovery DBOS re-enters the function from the top and replays every recorded step:
  completed bodies are not run again, the interrupted one is.
- ``wfc.calc(info)``: one calculation, its body in one step; returns its outputs and
  exit status (a non-zero status is a finished calculation, not an error).

A failed child (its workflow ERROR or CANCELLED, or a non-zero exit status) makes the
parent return exit status ``CHILD_FAILED_EXIT_STATUS`` and no outputs: the parent's own
code catches it, as a DBOS user's workflow would (DBOS has no rule of its own).

Emulated crashpoints (docs/adapters.md section 4): ``after_checkpoint_before_ack`` fires
right after the step's ``wfc.body`` returned in this worker (DBOS recorded its output; the
workflow has not gone on), ``while_waiting`` after a launching step enqueued its children,
before it awaits them. Both only when the body ran here (not when DBOS replayed it), and
once only (``BodyRuntime.land_engine_kill``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from dbos import DBOS, SetWorkflowID

from harness.adapters.celery.interpreter import calc_inputs, child_key, next_action, resolve
from harness.bodies import BodyRuntime
from harness.session import BodyPlan
from scenarios import (
    CHILD_FAILED_EXIT_STATUS,
    Compute,
    LaunchCalcs,
    LaunchWorkflow,
    evaluate_calculation,
)

__all__ = ["CALC_NAME", "ENGINE_CRASHPOINTS", "QUEUE_NAME", "WORKFLOW_NAME", "find_queue"]

QUEUE_NAME = "wfconform"
WORKFLOW_NAME = "wfc.workflow"
CALC_NAME = "wfc.calc"
ACBA = "after_checkpoint_before_ack"
WHILE_WAITING = "while_waiting"
ENGINE_CRASHPOINTS = (ACBA, WHILE_WAITING)
POLLING_INTERVAL = 0.05
"""Seconds between a worker's queue polls (DBOS's default is 1 s)."""

_queue: Any = None
_began: dict[tuple[str, str], tuple[str, int]] = {}
"""(workflow id, effect key) -> (target, attempt) of the body run *in this worker*."""
_lock = threading.Lock()


def find_queue() -> Any:
    """The run's queue (the adapter registered it, polled every 50 ms), for children."""
    global _queue
    _queue = DBOS.retrieve_queue(QUEUE_NAME)
    if _queue is None:
        raise RuntimeError(f"DBOS queue {QUEUE_NAME!r} is not registered in this database")
    return _queue


@DBOS.step(name="wfc.body")
def body_step(key: str, target: str, step: str | None, compute: Callable[[], Any]) -> Any:
    """One body under the harness's rules; the attempt DBOS counts is its dispatch count.

    ``recovery_attempts`` of the workflow is incremented by DBOS at every dequeue (first
    run and each recovery), so it names the engine's attempt the body belongs to (P2
    matches it against the claims ``events()`` reads from the same column).
    """
    workflow_id = DBOS.workflow_id
    assert workflow_id is not None
    status = DBOS.get_workflow_status(workflow_id)  # inside a step: a plain read
    attempt = status.recovery_attempts if status is not None else None

    def on_begin(began_target: str, began_attempt: int, plan: BodyPlan) -> None:
        with _lock:
            _began[(workflow_id, key)] = (began_target, began_attempt)

    return BodyRuntime.current().run(key=key, target=target, process=workflow_id, step=step,
                                     engine_attempt=attempt, compute=compute,
                                     on_begin=on_begin)


def _land(crashpoint: str, workflow_id: str, key: str) -> None:
    """Land ``crashpoint`` if it is armed for the attempt of ``key`` that ran here."""
    with _lock:
        began = _began.get((workflow_id, key))
    if began is None:  # the body was replayed from DBOS's record, not run here
        return
    runtime = BodyRuntime.current()
    plan = runtime.plan()
    target, attempt = began
    if plan.active and (crashpoint, target, attempt) in plan.engine_kills:
        runtime.land_engine_kill(crashpoint, target, attempt, key=key, process=workflow_id)


def _failed() -> dict[str, Any]:
    return {"exit_status": CHILD_FAILED_EXIT_STATUS, "outputs": {}}


def _await(handles: list[Any]) -> list[dict[str, Any]] | None:
    """The children's results, or None when one failed (raised, cancelled, non-zero)."""
    results = []
    for handle in handles:
        try:
            result = handle.get_result()
        except Exception:  # the child's error or cancellation, re-raised by DBOS
            return None
        if not isinstance(result, dict) or result.get("exit_status") != 0:
            return None
        results.append(result)
    return results


@DBOS.workflow(name=WORKFLOW_NAME)
def scenario_workflow(spec: dict[str, Any]) -> dict[str, Any]:
    """Scenario workflow ``spec['workflow']`` at path ``spec['path']`` (module docstring)."""
    scenario = BodyRuntime.current().session.scenario
    workflow_id = DBOS.workflow_id
    assert workflow_id is not None
    name, prefix, inputs = spec["workflow"], spec["path"], spec["inputs"]
    done: dict[str, Mapping[str, Any]] = {}
    while True:
        action = next_action(scenario, name, prefix, inputs, done)
        if action.step is None or action.key is None:
            return {"exit_status": 0, "outputs": dict(action.outputs or {})}
        step, key, env = action.step, action.key, action.env
        target = f"{name}.{step.name}"
        if isinstance(step, Compute):
            ref = step.value
            value = body_step(key, target, step.name, lambda r=ref, e=env: resolve(r, inputs, e))
            _land(ACBA, workflow_id, key)
            done[key] = {"value": value}
            continue
        handles: list[Any] = []
        if isinstance(step, LaunchCalcs):
            calls = step.calls
            values = body_step(key, target, step.name,
                               lambda c=calls, e=env: [calc_inputs(x, inputs, e) for x in c])
            for index, (call, call_inputs) in enumerate(zip(calls, values, strict=True)):
                path = child_key(key, index, call.calc)
                with SetWorkflowID(workflow_id + path[len(prefix):]):
                    handles.append(_queue.enqueue(calc_workflow, {
                        "calc": call.calc, "inputs": call_inputs, "path": path}))
        else:
            assert isinstance(step, LaunchWorkflow)
            refs = dict(step.inputs)
            child_inputs = body_step(key, target, step.name, lambda r=refs, e=env: {
                n: resolve(ref, inputs, e) for n, ref in r.items()})
            with SetWorkflowID(workflow_id + key[len(prefix):]):
                handles.append(_queue.enqueue(scenario_workflow, {
                    "workflow": step.workflow, "path": key, "inputs": child_inputs}))
        _land(ACBA, workflow_id, key)
        _land(WHILE_WAITING, workflow_id, key)
        results = _await(handles)
        if results is None:
            return _failed()
        if isinstance(step, LaunchCalcs):
            done[key] = {f"{i}.{out}": value for i, result in enumerate(results)
                         for out, value in result["outputs"].items()}
        else:
            done[key] = dict(results[0]["outputs"])


@DBOS.workflow(name=CALC_NAME)
def calc_workflow(info: dict[str, Any]) -> dict[str, Any]:
    """One calculation: its body in one step; a non-zero exit status is a result."""
    definition = BodyRuntime.current().session.scenario.calculation(info["calc"])
    outputs = body_step(info["path"], f"calc:{definition.name}", None,
                        lambda: evaluate_calculation(definition, info["inputs"]))
    return {"exit_status": definition.exit_status, "outputs": dict(outputs)}
