"""Views from Temporal histories (pure: hand-built history events, no server)."""

from __future__ import annotations

from harness.adapters.temporal.observe import Event, History, Launched, build_views


def _history(workflow_id: str, *events: tuple[str, dict]) -> History:
    return History(workflow_id, "run-1", tuple(Event(i, kind, fields)
                                               for i, (kind, fields) in enumerate(events, 1)))


START = ("workflow_execution_started", {"input": {"workflow": "W", "path": "A"}})
TASK = ("workflow_task_started", {})


def test_a_completed_workflow_is_finished_with_its_decoded_outputs() -> None:
    done = ("workflow_execution_completed",
            {"result": {"outputs": {"t": {"$tuple": [1, 2]}}, "exit_status": 0}})
    (view,) = build_views([Launched("R", "A", "W")], lambda _: _history("R", START, TASK, done))
    assert (view.state, view.exit_status, view.outputs) == ("finished", 0, {"t": (1, 2)})


def test_failed_and_terminated_workflows_are_excepted_and_killed() -> None:
    for kind, state in (("workflow_execution_failed", "excepted"),
                        ("workflow_execution_terminated", "killed")):
        (view,) = build_views([Launched("R", "A", "W")],
                              lambda _, k=kind: _history("R", START, TASK, (k, {})))
        assert view.state == state and view.outputs is None


def test_calc_activities_are_processes_and_step_activities_are_not() -> None:
    history = _history(
        "R", START, TASK,
        ("activity_task_scheduled", {"activity_id": "A/s", "type": "wfc.step"}),
        ("activity_task_scheduled", {"activity_id": "A/s/0:add", "type": "wfc.calc"}),
        ("activity_task_started", {"scheduled": 4, "attempt": 2}),
        ("activity_task_completed", {"scheduled": 4, "result": {"outputs": {"sum": 3},
                                                                 "exit_status": 0}}))
    views = build_views([Launched("R", "A", "W")], lambda _: history)
    workflow, calc = views
    assert workflow.children == ("R/s/0:add",)
    assert (calc.id, calc.path, calc.name, calc.parent) == ("R/s/0:add", "A/s/0:add", "add", "R")
    assert (calc.state, calc.outputs) == ("finished", {"sum": 3})


def test_an_activity_open_when_its_workflow_was_terminated_is_killed_not_running() -> None:
    history = _history(
        "R", START, TASK,
        ("activity_task_scheduled", {"activity_id": "A/s/0:add", "type": "wfc.calc"}),
        ("workflow_execution_terminated", {}))
    _, calc = build_views([Launched("R", "A", "W")], lambda _: history)
    assert calc.state == "killed"


def test_a_child_workflow_is_read_from_its_own_history_and_linked_to_its_parent() -> None:
    parent = _history("R", START, TASK, ("start_child_workflow_execution_initiated",
                                         {"workflow_id": "R/sub",
                                          "input": {"path": "A/sub", "workflow": "Inner"}}))
    child = _history("R/sub", START, TASK)
    never = History("R/sub", None, ())
    views = build_views([Launched("R", "A", "W")],
                        lambda wid: parent if wid == "R" else child)
    assert views[0].children == ("R/sub",)
    assert (views[1].path, views[1].name, views[1].parent, views[1].state) == (
        "A/sub", "Inner", "R", "running")
    # a child its parent initiated but the server never started is "created" while the
    # parent runs (and would be "killed" once the parent closed)
    views = build_views([Launched("R", "A", "W")], lambda wid: parent if wid == "R" else never)
    assert views[1].state == "created"
