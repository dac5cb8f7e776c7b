"""The Celery tasks that run a scenario, as a Celery user would write a dynamic canvas.

Four tasks, registered on the run's app by ``register``:

- ``wfc.step(proc, done)``: runs one plain step body of workflow ``proc`` through
  ``BodyRuntime.current().run(...)`` (the journal), then sends what follows: the next
  step's task (a chain link, its id frozen from the step's path), a **chord** of the
  step's calculations whose body is ``wfc.collect``, or a sub-workflow's first task
  carrying the parent's continuation. A step with nothing after it finishes the workflow
  in the same task: its result ``{"end": True, ...}`` is the workflow's outcome.
- ``wfc.calc(info)``: one calculation body; returns its outputs and exit status.
- ``wfc.collect(results, proc, done, key)``: the chord body (or a sub-workflow's
  report) that gathers a step's children and goes on; a failed child finishes the
  workflow with ``CHILD_FAILED_EXIT_STATUS`` and no outputs.
- ``wfc.child_failed(cont)``: the ``link_error`` errback of a sub-workflow's tasks: tells
  the parent its child failed (a raising step, or a chord whose calculation raised).

State travels in the messages (``proc``, ``done``), as a chain's remainder does in
Celery; nothing here keeps state outside Celery's broker and result backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery import Celery, chord
from celery.signals import task_postrun

from harness.adapters.celery.interpreter import (
    calc_inputs,
    child_key,
    collect_task_id,
    end_task_id,
    next_action,
    process_id,
    resolve,
    step_task_id,
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

__all__ = ["ENGINE_CRASHPOINT", "WHILE_WAITING", "register", "start"]

ENGINE_CRASHPOINT = "after_checkpoint_before_ack"
"""The one crashpoint the worker lands itself (``task_postrun``): the task returned, its
result is stored and its successor sent, the message is not yet acknowledged."""

WHILE_WAITING = "while_waiting"
_last_body: list[tuple[str, int]] = []  # (target, attempt) of the body this child runs


def _note_begin(target: str, attempt: int, plan: BodyPlan) -> None:
    _last_body.clear()
    _last_body.append((target, attempt))


def _errback(app: Celery, proc: Mapping[str, Any]) -> Any:
    if proc.get("cont") is None:
        return None
    return app.signature("wfc.child_failed", args=(proc["cont"],), immutable=True)


def _send(app: Celery, name: str, args: tuple[Any, ...], task_id: str,
          proc: Mapping[str, Any]) -> None:
    errback = _errback(app, proc)
    options: dict[str, Any] = {"task_id": task_id}
    if errback is not None:
        options["link_error"] = errback
    app.signature(name, args=args, **options).apply_async()


def start(app: Celery, scenario: Any, proc: Mapping[str, Any]) -> str:
    """Send the first task of workflow ``proc``; return its task id."""
    action = next_action(scenario, proc["workflow"], proc["path"], proc["inputs"], {})
    if action.key is None:
        task_id = end_task_id(proc["id"])
    else:
        task_id = step_task_id(proc["id"], proc["path"], action.key)
    _send(app, "wfc.step", (dict(proc), {}), task_id, proc)
    return task_id


def _finish(app: Celery, proc: Mapping[str, Any], outputs: Mapping[str, Any],
            exit_status: int) -> dict[str, Any]:
    outcome = {"state": "finished", "exit_status": exit_status, "outputs": dict(outputs)}
    cont = proc.get("cont")
    if cont is not None:
        parent = cont["proc"]
        _send(app, "wfc.collect", (outcome, parent, cont["done"], cont["key"]),
              collect_task_id(parent["id"], parent["path"], cont["key"]), parent)
    return {"end": True, **outcome}


def _advance(app: Celery, scenario: Any, proc: Mapping[str, Any],
             done: Mapping[str, Any]) -> dict[str, Any]:
    action = next_action(scenario, proc["workflow"], proc["path"], proc["inputs"], done)
    if action.key is None:
        return _finish(app, proc, action.outputs or {}, 0)
    task_id = step_task_id(proc["id"], proc["path"], action.key)
    _send(app, "wfc.step", (dict(proc), dict(done)), task_id, proc)
    return {"next": task_id}


def _run_step(app: Celery, proc: dict[str, Any], done: dict[str, Any]) -> dict[str, Any]:
    runtime = BodyRuntime.current()
    scenario = runtime.session.scenario
    inputs = proc["inputs"]
    action = next_action(scenario, proc["workflow"], proc["path"], inputs, done)
    if action.step is None or action.key is None:
        return _finish(app, proc, action.outputs or {}, 0)
    step, key, env = action.step, action.key, action.env

    def body(compute: Any) -> Any:
        return runtime.run(key=key, target=f"{proc['workflow']}.{step.name}",
                           process=proc["id"], step=step.name, engine_attempt=None,
                           compute=compute, on_begin=_note_begin)

    if isinstance(step, Compute):
        value = body(lambda: resolve(step.value, inputs, env))
        return {"key": key, **_advance(app, scenario, proc, {**done, key: {"value": value}})}
    collect_id = collect_task_id(proc["id"], proc["path"], key)
    if isinstance(step, LaunchCalcs):
        calls = body(lambda: [calc_inputs(call, inputs, env) for call in step.calls])
        children, header = [], []
        for index, (call, call_inputs) in enumerate(zip(step.calls, calls, strict=True)):
            path = child_key(key, index, call.calc)
            cid = process_id(proc["root"], proc["label"], path)
            info = {"id": cid, "calc": call.calc, "inputs": call_inputs, "key": path,
                    "parent": proc["id"], "waiting": list(_last_body[-1]) if _last_body
                    else None}
            header.append(app.signature("wfc.calc", args=(info,), task_id=cid, immutable=True))
            children.append({"id": cid, "kind": "calculation", "name": call.calc,
                             "path": path})
        options: dict[str, Any] = {"task_id": collect_id}
        errback = _errback(app, proc)
        if errback is not None:
            options["link_error"] = errback
        callback = app.signature("wfc.collect", args=(proc, done, key), **options)
        chord(header, callback).apply_async()
        return {"key": key, "children": children}
    assert isinstance(step, LaunchWorkflow)
    child_inputs = body(lambda: {name: resolve(ref, inputs, env)
                                 for name, ref in step.inputs.items()})
    cid = process_id(proc["root"], proc["label"], key)
    child = {"id": cid, "workflow": step.workflow, "path": key, "inputs": child_inputs,
             "root": proc["root"], "label": proc["label"],
             "cont": {"proc": proc, "done": done, "key": key}}
    start(app, scenario, child)
    return {"key": key, "children": [{"id": cid, "kind": "workflow", "name": step.workflow,
                                      "path": key}]}


def _collect(app: Celery, results: Any, proc: dict[str, Any], done: dict[str, Any],
             key: str) -> dict[str, Any]:
    scenario = BodyRuntime.current().session.scenario
    if isinstance(results, dict):  # a sub-workflow's outcome
        if results.get("state") != "finished" or results.get("exit_status") != 0:
            return _finish(app, proc, {}, CHILD_FAILED_EXIT_STATUS)
        outputs = dict(results["outputs"])
    else:
        if any(r["exit_status"] != 0 for r in results):
            return _finish(app, proc, {}, CHILD_FAILED_EXIT_STATUS)
        outputs = {f"{i}.{name}": value for i, r in enumerate(results)
                   for name, value in r["outputs"].items()}
    return _advance(app, scenario, proc, {**done, key: outputs})


def _calc(info: dict[str, Any]) -> dict[str, Any]:
    runtime = BodyRuntime.current()
    definition = runtime.session.scenario.calculation(info["calc"])

    def on_begin(target: str, attempt: int, plan: BodyPlan) -> None:
        _note_begin(target, attempt, plan)
        if info.get("waiting"):
            _kill_while_waiting(runtime, plan, info["waiting"][0], int(info["waiting"][1]))

    outputs = runtime.run(key=info["key"], target=f"calc:{definition.name}",
                          process=info["id"], step=None, engine_attempt=None,
                          compute=lambda: evaluate_calculation(definition, info["inputs"]),
                          on_begin=on_begin)
    return {"outputs": outputs, "exit_status": definition.exit_status}


def _kill_while_waiting(runtime: BodyRuntime, plan: BodyPlan, target: str, attempt: int
                        ) -> None:
    """Emulate ``while_waiting`` on the step ``target``'s ``attempt``: a waiting Celery
    workflow runs no task, so the worker dies as the first of the step's children begins
    (the step's own task is done and acknowledged; its chord is pending). Once only: a
    redelivered child begins again, and the fault log says the kill already fired."""
    if not plan.active or (WHILE_WAITING, target, attempt) not in plan.engine_kills:
        return
    runtime.land_engine_kill(WHILE_WAITING, target, attempt)


def _after_task(**_: Any) -> None:
    """Land an armed ``after_checkpoint_before_ack`` kill: result stored, successor
    sent, message not acknowledged (the prefork parent acks after this child returns)."""
    if not _last_body:
        return
    target, attempt = _last_body.pop()
    runtime = BodyRuntime.current()
    plan = runtime.plan()
    if plan.active and (ENGINE_CRASHPOINT, target, attempt) in plan.engine_kills:
        runtime.land_engine_kill(ENGINE_CRASHPOINT, target, attempt)


def register(app: Celery) -> None:
    """Register the scenario tasks on ``app`` and the worker-side crashpoint."""

    @app.task(name="wfc.step", bind=True)
    def step(self: Any, proc: dict[str, Any], done: dict[str, Any]) -> dict[str, Any]:
        return _run_step(app, proc, done)

    @app.task(name="wfc.collect", bind=True)
    def collect(self: Any, results: Any, proc: dict[str, Any], done: dict[str, Any],
                key: str) -> dict[str, Any]:
        return _collect(app, results, proc, done, key)

    @app.task(name="wfc.calc", bind=True)
    def calc(self: Any, info: dict[str, Any]) -> dict[str, Any]:
        return _calc(info)

    @app.task(name="wfc.child_failed")
    def child_failed(cont: dict[str, Any]) -> None:
        parent = cont["proc"]
        _send(app, "wfc.collect", ({"state": "failed"}, parent, cont["done"], cont["key"]),
              collect_task_id(parent["id"], parent["path"], cont["key"]), parent)

    task_postrun.connect(_after_task, weak=False)
