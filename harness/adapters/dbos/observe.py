"""Processes from DBOS's ``workflow_status`` rows: pure code, no DBOS import.

Every scenario process is a DBOS workflow (a scenario workflow or a calculation), so the
engine's view is one row per process: its status, its recorded output, its parent
(``parent_workflow_id``, set by DBOS for a workflow enqueued from inside another) and
its dispatch count (``recovery_attempts``: one per dequeue, first run and recoveries).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.adapter import ProcessView

__all__ = ["STATES", "Row", "build_views", "claims", "view_state"]

STATES: Mapping[str, str] = {
    "ENQUEUED": "created", "DELAYED": "created", "PENDING": "running",
    "SUCCESS": "finished", "ERROR": "excepted", "CANCELLED": "killed",
    # not terminal in DBOS (an operator may resume it), and nothing runs it meanwhile
    "MAX_RECOVERY_ATTEMPTS_EXCEEDED": "created",
}
"""DBOS workflow status -> the protocol's state."""


@dataclass(frozen=True)
class Row:
    """What the adapter reads of one ``workflow_status`` row (``DBOSClient.list_workflows``)."""

    id: str
    status: str
    name: str  # the DBOS workflow name: wfc.workflow or wfc.calc
    spec: Mapping[str, Any]  # the workflow's one argument: workflow|calc, path, inputs
    output: Any
    parent: str | None
    executor: str | None
    version: str | None
    attempts: int
    created: int | None
    updated: int | None


def view_state(row: Row) -> tuple[str, int | None, Mapping[str, Any] | None]:
    """``(state, exit_status, outputs)`` of a row: SUCCESS carries the exit status the
    workflow returned and its outputs (``{}`` for a workflow whose child failed)."""
    state = STATES.get(row.status, "running")
    if state != "finished":
        return state, None, None
    output = row.output if isinstance(row.output, dict) else {}
    return state, int(output.get("exit_status", 0)), dict(output.get("outputs") or {})


def build_views(rows: Sequence[Row], labels: Mapping[str, Sequence[str]],
                restart_of: Mapping[str, str], calc_name: str) -> tuple[ProcessView, ...]:
    """One view per row. ``labels``: the launch labels of each top-level id (several when
    launches reused one workflow id: the first is the path, the rest aliases)."""
    children: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r.created or 0, r.id)):
        if row.parent is not None:
            children.setdefault(row.parent, []).append(row.id)
    views = []
    for row in rows:
        state, exit_status, outputs = view_state(row)
        own = list(labels.get(row.id, ()))
        path = own[0] if own else row.spec.get("path")
        calc = row.name == calc_name
        views.append(ProcessView(
            id=row.id, path=path, kind="calculation" if calc else "workflow",
            name=str(row.spec.get("calc" if calc else "workflow", "?")), state=state,
            exit_status=exit_status, outputs=outputs, parent=row.parent,
            children=tuple(children.get(row.id, ())), restart_of=restart_of.get(row.id),
            aliases=tuple(own[1:])))
    return tuple(views)


def claims(rows: Sequence[Row]) -> tuple[dict[str, Any], ...]:
    """DBOS's own count of dispatches as ``claimed`` events: ``recovery_attempts`` of each
    workflow (one per dequeue). DBOS keeps the count, not a log, so the events carry no
    order between dispatches and no state changes; the executor is named on the latest."""
    events: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: (r.created or 0, r.id)):
        for attempt in range(1, row.attempts + 1):
            latest = attempt == row.attempts
            events.append({"id": len(events) + 1, "process": row.id, "state": "claimed",
                           "attempt": attempt, "worker": row.executor if latest else None,
                           "at": row.updated if latest else None})
    return tuple(events)
