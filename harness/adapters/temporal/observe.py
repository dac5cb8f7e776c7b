"""The engine's view of a run, read from Temporal's workflow histories: pure code.

The adapter turns each workflow's history into ``Event`` records (kind = the history
event's attributes name without ``_event_attributes``, e.g. ``activity_task_completed``,
and the few fields used here); this module turns them into ``ProcessView``s:

- a workflow's state is its closing event: ``workflow_execution_completed`` ->
  ``finished`` (exit status and outputs from its result), ``..._failed`` /
  ``..._timed_out`` -> ``excepted``, ``..._terminated`` / ``..._canceled`` -> ``killed``;
  no closing event -> ``running`` (``created`` before its first workflow task);
- a calculation is its ``wfc.calc`` activity (activity id = its effect key): completed ->
  ``finished``, failed or timed out -> ``excepted``, canceled -> ``killed``; started ->
  ``running``, scheduled -> ``created``. An activity still open when its workflow closed
  was abandoned by Temporal (the server refuses its completion): ``killed``;
- a sub-workflow is the child workflow its parent initiated (``start_child_workflow_
  execution_initiated``), read from its own history.

Step activities (``wfc.step``) are bodies, not processes, and make no view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.adapter import ProcessView
from scenarios._value_codec import decode_value

__all__ = ["CALC", "Event", "History", "Launched", "build_views", "workflow_state"]

CALC = "wfc.calc"
_CLOSED = {
    "workflow_execution_completed": "finished",
    "workflow_execution_failed": "excepted",
    "workflow_execution_timed_out": "excepted",
    "workflow_execution_terminated": "killed",
    "workflow_execution_canceled": "killed",
    "workflow_execution_continued_as_new": "finished",
}


@dataclass(frozen=True)
class Event:
    """One history event: its id, kind and the fields this module reads."""

    id: int
    kind: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    """One workflow execution: its id, run id and events (empty: not found)."""

    workflow_id: str
    run_id: str | None
    events: tuple[Event, ...]

    @property
    def request(self) -> Mapping[str, Any]:
        """The scenario request the workflow was started with."""
        for event in self.events:
            if event.kind == "workflow_execution_started":
                return event.fields.get("input") or {}
        return {}


@dataclass(frozen=True)
class Launched:
    """A top-level launch: its workflow id, label and scenario workflow."""

    id: str
    label: str
    workflow: str


def _decoded(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return {name: decode_value(value) for name, value in (values or {}).items()}


def workflow_state(history: History) -> tuple[str, int | None, dict[str, Any] | None]:
    """(state, exit status, outputs) of one workflow execution."""
    for event in reversed(history.events):
        state = _CLOSED.get(event.kind)
        if state == "finished":
            result = event.fields.get("result") or {}
            return "finished", int(result.get("exit_status", 0)), _decoded(
                result.get("outputs"))
        if state is not None:
            return state, None, None
    started = any(e.kind == "workflow_task_started" for e in history.events)
    return ("running" if started else "created"), None, None


def _calc_state(events: list[Event], workflow: str) -> tuple[str, int | None,
                                                             dict[str, Any] | None]:
    kinds = [e.kind for e in events]
    for event in events:
        if event.kind == "activity_task_completed":
            result = event.fields.get("result") or {}
            return "finished", int(result.get("exit_status", 0)), _decoded(
                result.get("outputs"))
    if "activity_task_failed" in kinds or "activity_task_timed_out" in kinds:
        return "excepted", None, None
    if "activity_task_canceled" in kinds:
        return "killed", None, None
    if workflow in ("finished", "excepted", "killed"):
        return "killed", None, None  # abandoned with its workflow
    return ("running" if "activity_task_started" in kinds else "created"), None, None


def build_views(launches: Iterable[Launched],
                history_of: Callable[[str], History]) -> tuple[ProcessView, ...]:
    """Every process of the run, from the launches down through their children."""
    views: list[ProcessView] = []

    def visit(workflow_id: str, path: str, name: str, parent: str | None,
              parent_state: str | None) -> None:
        history = history_of(workflow_id)
        if not history.events:  # initiated by its parent, never started
            state = "killed" if parent_state in ("finished", "excepted", "killed") \
                else "created"
            views.append(ProcessView(workflow_id, path, "workflow", name, state, None, None,
                                     parent))
            return
        state, exit_status, outputs = workflow_state(history)
        calcs: dict[int, list[Event]] = {}
        children: list[tuple[str, str, str]] = []
        for event in history.events:
            if event.kind == "activity_task_scheduled" and event.fields.get("type") == CALC:
                calcs[event.id] = [event]
            elif event.kind.startswith("activity_task_") and \
                    event.fields.get("scheduled") in calcs:
                calcs[event.fields["scheduled"]].append(event)
            elif event.kind == "start_child_workflow_execution_initiated":
                request = event.fields.get("input") or {}
                children.append((event.fields["workflow_id"], str(request.get("path")),
                                 str(request.get("workflow"))))
        calc_ids = [f"{workflow_id}/{evs[0].fields['activity_id'][len(path) + 1:]}"
                    for evs in calcs.values()]
        views.append(ProcessView(workflow_id, path, "workflow", name, state, exit_status,
                                 outputs, parent,
                                 (*calc_ids, *(child for child, _, _ in children))))
        for calc_id, events in zip(calc_ids, calcs.values(), strict=True):
            key = str(events[0].fields["activity_id"])
            c_state, c_exit, c_outputs = _calc_state(events, state)
            views.append(ProcessView(calc_id, key, "calculation",
                                     key.rpartition(":")[2], c_state, c_exit, c_outputs,
                                     workflow_id))
        for child, child_path, child_name in children:
            visit(child, child_path, child_name, workflow_id, state)

    for launch in launches:
        visit(launch.id, launch.label, launch.workflow, None, None)
    return tuple(views)
