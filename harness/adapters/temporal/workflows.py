"""The Temporal workflow and activities that run a scenario, as a Temporal user would.

- ``ScenarioWorkflow`` (type ``wfc``) walks a scenario workflow's outline (the pure
  ``next_action`` walk, re-evaluated from the outputs of the steps done so far, which is
  what a Temporal workflow is: deterministic code replayed from its history). Each plain
  step's body is an activity ``wfc.step``; each calculation of a ``LaunchCalcs`` step is
  an activity ``wfc.calc`` (activity id = its effect key), awaited together; a
  ``LaunchWorkflow`` step's sub-workflow is a child workflow (workflow id derived from
  its path, so ids are known in advance).
- The activities run ``BodyRuntime.current().run(...)`` (the journal, the body faults)
  in a thread while the activity heartbeats, so a worker that dies inside a body is
  noticed by the heartbeat timeout and the activity is retried on another worker.
- A body that raises fails its activity without retry (``non_retryable``): an exception
  is scenario behaviour, not a crash; the workflow then fails (``excepted``), and a parent
  whose child failed finishes with ``CHILD_FAILED_EXIT_STATUS`` and no outputs.

Values travel as ``scenarios._value_codec`` JSON, so every value kind survives.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError

from harness.adapters.celery.interpreter import (
    calc_inputs,
    child_key,
    next_action,
    process_id,
    resolve,
)
from harness.bodies import BodyRuntime
from harness.session import BodyPlan
from scenarios import (
    CHILD_FAILED_EXIT_STATUS,
    Compute,
    LaunchCalcs,
    LaunchWorkflow,
    evaluate_calculation,
)
from scenarios._value_codec import decode_value, encode_value

__all__ = ["AFTER_CHECKPOINT", "CALC_ACTIVITY", "STEP_ACTIVITY", "WHILE_WAITING",
           "WORKFLOW_TYPE",
           "ScenarioWorkflow", "calc_activity", "step_activity"]

WORKFLOW_TYPE = "wfc"
STEP_ACTIVITY = "wfc.step"
CALC_ACTIVITY = "wfc.calc"
WHILE_WAITING = "while_waiting"
AFTER_CHECKPOINT = "after_checkpoint_before_ack"
HEARTBEAT_EVERY = 0.1
"""Seconds between heartbeat calls while a body runs (the SDK throttles what it sends
to 80 % of the heartbeat timeout)."""


def _encode_map(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: encode_value(value) for name, value in values.items()}


def _decode_map(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: decode_value(value) for name, value in values.items()}


# ---------------------------------------------------------------------------- activities
async def _heartbeating(fn: Callable[[], Any]) -> Any:
    """Run the blocking body in a thread and heartbeat until it returns."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, contextvars.copy_context().run, fn)
    while True:
        done, _ = await asyncio.wait({future}, timeout=HEARTBEAT_EVERY)
        if done:
            return future.result()
        activity.heartbeat()


def _failed(error: BaseException) -> ApplicationError:
    return ApplicationError(f"{type(error).__name__}: {error}", type=type(error).__name__,
                            non_retryable=True)


def _kill_while_waiting(runtime: BodyRuntime, plan: BodyPlan, waiting: Any) -> None:
    """Emulated ``while_waiting`` of the launching step ``waiting`` = (target, attempt):
    a waiting Temporal workflow runs no code, so the worker dies as the step's first
    child begins (once only; a retried child finds the marker and lives)."""
    if not waiting or not plan.active:
        return
    target, attempt = str(waiting[0]), int(waiting[1])
    if (WHILE_WAITING, target, attempt) in plan.engine_kills:
        runtime.land_engine_kill(WHILE_WAITING, target, attempt)


@activity.defn(name=STEP_ACTIVITY)
async def step_activity(request: dict[str, Any]) -> dict[str, Any]:
    """One plain step body: returns its value and the attempt it ran as."""
    info = activity.info()
    runtime = BodyRuntime.current()
    scenario = runtime.session.scenario
    step = scenario.workflow(request["workflow"]).step(request["step"])
    inputs = _decode_map(request["inputs"])
    env = {name: _decode_map(values) for name, values in request["env"].items()}
    began: list[int] = []

    def on_begin(target: str, attempt: int, plan: BodyPlan) -> None:
        began.append(attempt)
        _kill_while_waiting(runtime, plan, request.get("waiting"))

    def compute() -> Any:
        if isinstance(step, Compute):
            return resolve(step.value, inputs, env)
        if isinstance(step, LaunchCalcs):
            return [calc_inputs(call, inputs, env) for call in step.calls]
        assert isinstance(step, LaunchWorkflow)
        return {name: resolve(ref, inputs, env) for name, ref in step.inputs.items()}

    def body() -> Any:
        return runtime.run(key=request["key"], target=f"{request['workflow']}.{step.name}",
                           process=request["process"], step=step.name,
                           engine_attempt=info.attempt, compute=compute, on_begin=on_begin)

    try:
        value = await _heartbeating(body)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        raise _failed(error) from None
    return {"value": encode_value(value), "attempt": began[-1] if began else None}


@activity.defn(name=CALC_ACTIVITY)
async def calc_activity(request: dict[str, Any]) -> dict[str, Any]:
    """One calculation body: returns its outputs and exit status."""
    info = activity.info()
    runtime = BodyRuntime.current()
    definition = runtime.session.scenario.calculation(request["calc"])
    inputs = _decode_map(request["inputs"])

    began: list[int] = []

    def on_begin(target: str, attempt: int, plan: BodyPlan) -> None:
        began.append(attempt)
        _kill_while_waiting(runtime, plan, request.get("waiting"))

    def body() -> Any:
        return runtime.run(key=request["key"], target=f"calc:{definition.name}",
                           process=request["process"], step=None,
                           engine_attempt=info.attempt,
                           compute=lambda: evaluate_calculation(definition, inputs),
                           on_begin=on_begin)

    try:
        outputs = await _heartbeating(body)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        raise _failed(error) from None
    return {"outputs": _encode_map(outputs), "exit_status": definition.exit_status,
            "attempt": began[-1] if began else None}


# ---------------------------------------------------------------------------- workflow
def activity_options(timeouts: Mapping[str, Any]) -> dict[str, Any]:
    """``execute_activity`` options from the adapter's timeout settings."""
    heartbeat = timeouts.get("heartbeat")
    return {
        "start_to_close_timeout": timedelta(seconds=float(timeouts["start_to_close"])),
        "heartbeat_timeout": None if heartbeat is None else timedelta(seconds=float(heartbeat)),
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=float(timeouts["retry_initial"])),
            backoff_coefficient=float(timeouts["retry_backoff"]),
            maximum_interval=timedelta(seconds=float(timeouts["retry_max"])),
            maximum_attempts=0),  # unlimited: a worker death is retried until a worker lives
    }


def child_options(timeouts: Mapping[str, Any]) -> dict[str, Any]:
    task = timeouts.get("workflow_task")
    return {"id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
            "task_timeout": None if task is None else timedelta(seconds=float(task))}


def _scenario() -> Any:
    return BodyRuntime.current().session.scenario


def _after_checkpoint(target: str, attempt: Any) -> None:
    """Emulated ``after_checkpoint_before_ack`` of body ``target``'s ``attempt``: the
    activity's completion is in the history (the checkpoint), and the workflow task that
    takes it up has not completed (its commands are the acknowledgement): the worker
    running that workflow task dies here. Once only, so the replays that follow (every
    workflow task replays the history) pass this point and live."""
    if attempt is None:
        return
    runtime = BodyRuntime.current()
    plan = runtime.plan()
    if plan.active and (AFTER_CHECKPOINT, target, int(attempt)) in plan.engine_kills:
        runtime.land_engine_kill(AFTER_CHECKPOINT, target, int(attempt))


@workflow.defn(name=WORKFLOW_TYPE, sandboxed=False)
class ScenarioWorkflow:
    """One scenario workflow (top-level or sub-workflow); see the module docstring."""

    @workflow.run
    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        scenario = _scenario()
        me = workflow.info().workflow_id
        name, path, label, root = (request["workflow"], request["path"], request["label"],
                                   request["root"])
        inputs = _decode_map(request["inputs"])
        timeouts = request["timeouts"]
        options = activity_options(timeouts)
        waiting = request.get("waiting")  # while_waiting of the parent's launching step
        done: dict[str, dict[str, Any]] = {}
        while True:
            action = next_action(scenario, name, path, inputs, done)
            if action.step is None or action.key is None:
                return {"outputs": _encode_map(action.outputs or {}), "exit_status": 0}
            step, key = action.step, action.key
            env = {k: _encode_map(v) for k, v in action.env.items()}
            try:
                result = await workflow.execute_activity(
                    STEP_ACTIVITY, {"key": key, "workflow": name, "step": step.name,
                                    "process": me, "inputs": request["inputs"], "env": env,
                                    "waiting": waiting},
                    activity_id=key, **options)
            except Exception as error:  # the body raised: the workflow is excepted
                raise ApplicationError(f"step {key} failed: {error}",
                                       non_retryable=True) from None
            waiting = None
            value = decode_value(result["value"])
            target = (f"{name}.{step.name}", result["attempt"])
            _after_checkpoint(*target)
            if isinstance(step, Compute):
                done[key] = {"value": value}
                continue
            if isinstance(step, LaunchCalcs):
                outputs = await self._calcs(step, key, value, root, label, target, options)
            else:
                assert isinstance(step, LaunchWorkflow)
                outputs = await self._child(step, key, value, root, label, target, timeouts)
            if outputs is None:
                return {"outputs": {}, "exit_status": CHILD_FAILED_EXIT_STATUS}
            done[key] = outputs

    async def _calcs(self, step: LaunchCalcs, key: str, calls: list[dict[str, Any]],
                     root: str, label: str, target: tuple[str, Any],
                     options: dict[str, Any]) -> dict[str, Any] | None:
        """Run the step's calculations together; None when one failed."""
        async def one(path: str, calc: str, call_inputs: dict[str, Any]) -> Any:
            result = await workflow.execute_activity(
                CALC_ACTIVITY, {"key": path, "calc": calc, "inputs": _encode_map(call_inputs),
                                "process": process_id(root, label, path),
                                "waiting": list(target)},
                activity_id=path, **options)
            _after_checkpoint(f"calc:{calc}", result.get("attempt"))
            return result

        runs = [one(child_key(key, index, call.calc), call.calc, call_inputs)
                for index, (call, call_inputs) in enumerate(zip(step.calls, calls, strict=True))]
        results = await asyncio.gather(*runs, return_exceptions=True)
        if any(isinstance(r, BaseException) or r["exit_status"] != 0 for r in results):
            return None
        return {f"{i}.{name}": decode_value(value) for i, r in enumerate(results)
                for name, value in r["outputs"].items()}

    async def _child(self, step: LaunchWorkflow, key: str, child_inputs: dict[str, Any],
                     root: str, label: str, target: tuple[str, Any],
                     timeouts: dict[str, Any]) -> dict[str, Any] | None:
        """Run the sub-workflow as a child workflow; None when it failed."""
        request = {"workflow": step.workflow, "path": key, "label": label, "root": root,
                   "inputs": _encode_map(child_inputs), "timeouts": timeouts,
                   "waiting": list(target)}
        try:
            result = await workflow.execute_child_workflow(
                WORKFLOW_TYPE, request, id=process_id(root, label, key),
                **child_options(timeouts))
        except Exception:  # ChildWorkflowError: failed, terminated, timed out
            return None
        if result["exit_status"] != 0:
            return None
        return _decode_map(result["outputs"])
