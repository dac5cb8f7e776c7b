"""The engine's view of a run, read from Celery's result backend: pure code.

Celery has no workflow instance; what it keeps is one row per task id (status, result,
date done). A workflow process is the set of its tasks (``<process>|...``, see
``interpreter``); its state is read from them:

- a task ``REVOKED``, or a chord body failed because a child was revoked: ``killed``
  (Celery's kill is ``revoke``);
- otherwise the latest terminal row decides: a result ``{"end": True, ...}`` is
  ``finished`` with its exit status and outputs; a chord body failed with ``ChordError``
  (a calculation raised) is ``finished`` with ``CHILD_FAILED_EXIT_STATUS`` and no
  outputs (the protocol's "child failed"; Celery calls it a failed chord body); any
  other failure is ``excepted``;
- a row but no outcome: ``running``; no row yet: ``created``.

A calculation is its one task: SUCCESS ``finished`` (its exit status), FAILURE
``excepted``, REVOKED ``killed``, STARTED ``running``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness.adapter import ProcessView
from scenarios import CHILD_FAILED_EXIT_STATUS

__all__ = ["Launched", "Row", "build_views", "workflow_outcome"]


@dataclass(frozen=True)
class Row:
    """One task of Celery's result backend: id, status, result (or exception), when."""

    task_id: str
    status: str
    result: Any
    done_at: float | None = None
    worker: str | None = None

    @property
    def never_delivered(self) -> bool:
        """Revoked by id before any worker received it (``revoke`` writes such rows)."""
        return self.status == "REVOKED" and self.worker is None


@dataclass(frozen=True)
class Launched:
    """A top-level launch the adapter sent: its id, label, workflow, restart origin."""

    id: str
    label: str
    workflow: str
    restart_of: str | None = None


def _revoked_child(row: Row) -> bool:
    return row.status == "FAILURE" and "revoked" in repr(row.result).lower()


def _chord_error(row: Row) -> bool:
    return row.status == "FAILURE" and type(row.result).__name__ == "ChordError"


def workflow_outcome(rows: Iterable[Row]) -> tuple[str, int | None, dict[str, Any] | None]:
    """(state, exit status, outputs) of a workflow from the rows of its own tasks."""
    rows = list(rows)
    if any(r.status == "REVOKED" or (_chord_error(r) and _revoked_child(r)) for r in rows):
        return "killed", None, None
    terminal = [r for r in rows if r.status == "FAILURE"
                or (r.status == "SUCCESS" and isinstance(r.result, dict)
                    and r.result.get("end"))]
    if terminal:
        last = max(terminal, key=lambda r: r.done_at or 0.0)
        if last.status == "SUCCESS":
            return "finished", int(last.result["exit_status"]), dict(last.result["outputs"])
        if _chord_error(last):
            return "finished", CHILD_FAILED_EXIT_STATUS, {}
        return "excepted", None, None
    return ("running" if rows else "created"), None, None


def _calc_outcome(row: Row | None) -> tuple[str, int | None, dict[str, Any] | None]:
    if row is None:
        return "created", None, None
    if row.status == "SUCCESS" and isinstance(row.result, dict):
        return "finished", int(row.result["exit_status"]), dict(row.result["outputs"])
    if row.status == "FAILURE":
        return "excepted", None, None
    if row.status == "REVOKED":
        return "killed", None, None
    return "running", None, None


def _owner(task_id: str) -> str:
    """The process a task id belongs to (a calculation's task id is its process id)."""
    return task_id.partition("|")[0]


def build_views(launches: Iterable[Launched], rows: Mapping[str, Row],
                workflow_at: Callable[[str], str] | None = None) -> tuple[ProcessView, ...]:
    """Every process of the run: launches and the children their steps reported, plus
    any process the backend holds rows of that no step reported (nothing is hidden:
    a revoke racing a step's success overwrites the row that listed its children). Such
    a process's parent is read from its id (the longest known process id it extends);
    ``workflow_at(path)`` names the workflow of a sub-workflow path."""
    launches = list(launches)
    roots = tuple(launch.id for launch in launches)
    own: dict[str, list[Row]] = {}
    for task_id, row in rows.items():
        owner = _owner(task_id)
        if owner.startswith(roots):  # not Celery's own tasks (chord_unlock)
            own.setdefault(owner, []).append(row)
    views: list[ProcessView] = []
    seen: set[str] = set()

    def workflow(pid: str, path: str, name: str, parent: str | None,
                 restart_of: str | None) -> None:
        seen.add(pid)
        mine = own.get(pid, [])
        children: dict[str, Mapping[str, Any]] = {}
        for row in sorted(mine, key=lambda r: r.done_at or 0.0):
            if row.status == "SUCCESS" and isinstance(row.result, dict):
                for child in row.result.get("children", ()):
                    children.setdefault(child["id"], child)
        state, exit_status, outputs = workflow_outcome(mine)
        views.append(ProcessView(pid, path, "workflow", name, state, exit_status, outputs,
                                 parent, tuple(children), restart_of))
        for cid, child in children.items():
            if child["kind"] == "workflow":
                workflow(cid, child["path"], child["name"], pid, None)
            else:
                seen.add(cid)
                c_state, c_exit, c_out = _calc_outcome(rows.get(cid))
                views.append(ProcessView(cid, child["path"], "calculation", child["name"],
                                         c_state, c_exit, c_out, pid))

    for launch in launches:
        workflow(launch.id, launch.label, launch.workflow, None, launch.restart_of)
    orphans = [pid for pid in sorted(set(own) - seen)  # rows of a process no step reported
               if not all(row.never_delivered for row in own[pid])]
    workflows = {v.id for v in views if v.kind == "workflow"} | {
        pid for pid in orphans if ":" not in pid.rpartition("/")[2]}
    adopted: dict[str, list[str]] = {}
    for pid in orphans:
        launch = next((la for la in launches if pid.startswith(la.id + "/")), None)
        path = None if launch is None else launch.label + pid[len(launch.id):]
        parent = _parent_of(pid, workflows)
        if parent is not None:
            adopted.setdefault(parent, []).append(pid)
        last = pid.rpartition("/")[2]
        if ":" in last:
            state, exit_status, outputs = _calc_outcome(rows.get(pid))
            views.append(ProcessView(pid, path, "calculation", last.partition(":")[2], state,
                                     exit_status, outputs, parent))
        else:
            state, exit_status, outputs = workflow_outcome(own[pid])
            name = workflow_at(path) if workflow_at is not None and path else "?"
            views.append(ProcessView(pid, path, "workflow", name, state, exit_status,
                                     outputs, parent))
    return tuple(replace(v, children=(*v.children, *adopted[v.id])) if v.id in adopted else v
                 for v in views)


def _parent_of(pid: str, workflows: set[str]) -> str | None:
    """The longest workflow id ``pid`` extends at a ``/`` boundary (ids are paths)."""
    head = pid
    while "/" in head:
        head = head.rpartition("/")[0]
        if head in workflows:
            return head
    return None
