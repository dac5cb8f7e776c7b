"""The engine's view: a scenario's flow runs and task runs, as harness processes.

``read_runs`` asks the server for every flow run and task run tagged with the scenario's
namespace; ``to_views`` (pure) turns them into ``ProcessView``s:

- a flow run is a workflow, named by its run name (the launch label, or the sub-workflow's
  path); a subflow's parent is the flow run of the task run that called it;
- a calculation task run is a calculation, named by its run name (its effect key); step
  task runs (``wfconform-step``) and subflow placeholders are parts of their workflow;
- a ``Cached`` task run is a hit. Prefect names no source, only the stored result's key:
  every calculation task run whose result is stored reports that key (``cache_key``)
  and a hit reports the key it read (``cached_from_key``), so the harness finds the
  source as the process that stored under the key (issue 18, point 1). A task run of a
  killed flow-run process may have stored its result and still read ``Running`` (its
  final state never reached the server, deviation 7); Prefect serves hits from that
  record all the same, so such a task run reports the key its body noted
  (``read_noted_results``) and the stored value, unless a finished task run executed
  under that key (then the record is that one's): the hit is then judged against its
  real, unfinished source, not a later hit of the key;
- a retried flow run (Prefect's only continuation) re-submits every task: a calculation
  gets a new task run per attempt of its flow run, reported as ``attempt_of`` the
  previous task run of the same place in the same flow run (point 5); a subflow alike;
- a flow run that Prefect's Retry revived for a relaunch carries that launch's label
  too (``aliases``, point 3).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.adapter import ACTIVE_STATES, ProcessView
from harness.adapters.prefect.policy import view_state

__all__ = ["FlowRunRow", "NotedResult", "ObservedRuns", "TaskRunRow", "is_calculation",
           "read_noted_results", "read_runs", "to_views"]

STEP_TASK = "wfconform-step"


@dataclass(frozen=True)
class FlowRunRow:
    id: str
    name: str
    workflow: str
    state_type: str | None
    state_name: str | None
    message: str | None
    parent_task_run: str | None
    outputs: Mapping[str, Any] | None
    run_count: int = 0
    start: float | None = None


@dataclass(frozen=True)
class TaskRunRow:
    id: str
    name: str
    task: str
    flow_run: str | None
    state_type: str | None
    state_name: str | None
    message: str | None
    storage_key: str | None
    outputs: Mapping[str, Any] | None
    start: float | None = None


@dataclass(frozen=True)
class ObservedRuns:
    flows: tuple[FlowRunRow, ...]
    tasks: tuple[TaskRunRow, ...]


@dataclass(frozen=True)
class NotedResult:
    """A result stored under the key a calculation body's task run noted: the key and
    the stored value (None if unreadable)."""

    key: str
    outputs: Mapping[str, Any] | None


def _storage_key(state: Any) -> str | None:
    data = getattr(state, "data", None) if state is not None else None
    if isinstance(data, dict):
        key = data.get("storage_key")
        return str(key) if key else None
    key = getattr(data, "storage_key", None)
    return str(key) if key else None


def _read_result(key: str | None) -> Any:
    """The value stored at a result file (``None`` if absent or unreadable)."""
    if not key:
        return None
    from prefect.results import ResultRecord

    base = os.environ.get("PREFECT_LOCAL_STORAGE_PATH", "")
    path = key if os.path.isabs(key) else os.path.join(base, key)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    try:
        return ResultRecord.deserialize(data).result
    except Exception:  # flow results are stored bare: the serializer's bytes only
        pass
    try:
        from prefect.serializers import PickleSerializer

        return PickleSerializer(picklelib="cloudpickle").loads(data)
    except Exception:  # a foreign or corrupt record: unreadable, not an adapter crash
        return None


def _outputs(state: Any, storage_root: str) -> Mapping[str, Any] | None:
    if state is None or state.type.value != "COMPLETED":
        return None
    key = _storage_key(state)
    if key and not os.path.isabs(key):
        key = os.path.join(storage_root, key)
    value = _read_result(key)
    return dict(value) if isinstance(value, Mapping) else None


def read_noted_results(notes: str | os.PathLike[str], storage_root: str,
                       task_runs: Iterable[str]) -> dict[str, NotedResult]:
    """For each of ``task_runs`` whose body the flow-run process noted, the result stored
    under the noted key, where a record under it is on disk.

    Why: ``flows.calculation_body`` notes ``{"executed": task run, "cache_key": key}``
    once the body returned, before Prefect's commit writes the record; a kill after the
    write but before the final state's event left the process leaves a ``Running`` task
    run whose state names no key, yet Prefect's lookup finds its record (a probe in
    plain Prefect, docs/results/prefect-3.md, fuzz findings). A noted key without a
    record (killed before the write) is left out. The record may also be another
    writer's: killed before its write, the next equal call (the retried attempt) missed,
    executed and wrote it; ``to_views`` then leaves the key to that finished task run.
    """
    from harness.journal import read_records

    wanted = set(task_runs)
    last: dict[str, str] = {}  # key -> the task run that noted it last (notes are in order)
    for record in read_records(notes) if wanted else ():
        run, key = str(record.get("executed") or ""), str(record.get("cache_key") or "")
        if run and key:
            last[key] = run
    found: dict[str, NotedResult] = {}
    for key, run in last.items():
        # Of two unfinished runs that noted one key, only the later can have written
        # the record: had the earlier written it, the later would have been a hit.
        if run not in wanted:
            continue
        path = key if os.path.isabs(key) else os.path.join(storage_root, key)
        if not os.path.isfile(path):
            continue
        value = _read_result(path)
        found[run] = NotedResult(os.path.basename(key),
                                 dict(value) if isinstance(value, Mapping) else None)
    return found


PAGE = 200
"""Runs per request: the server's own cap on ``limit`` (``PREFECT_API_DEFAULT_LIMIT``)."""


def read_all(read: Callable[..., list[Any]], page: int = PAGE, **query: Any) -> list[Any]:
    """Every run ``read`` returns for ``query``, page by page, each id once.

    Why: one request returns at most ``page`` runs, and the view read one request. A
    generated scenario (loops of calculations, relaunches, retried attempts) can make
    more task runs than that; the view then silently lacked some, and a body that ran in
    a process missing from the view fails P2 against the adapter, not Prefect (seen
    while looking into a P2 failure of a key-fn campaign, 2026-12-04, whose history was
    lost: whether it was this is not known). Sorted by id, a total order (the server's
    own default): a run made between two pages only pushes the runs after it one place
    on, so a page may repeat one (dropped here) but never skips one. The server refuses
    a ``limit`` above its cap (422) rather than cutting a page short, so a short page is
    the last.
    """
    seen: dict[str, Any] = {}
    offset = 0
    while True:
        batch = read(limit=page, offset=offset, **query)
        for run in batch:
            seen.setdefault(str(run.id), run)
        if len(batch) < page:
            return list(seen.values())
        offset += page


def read_runs(client: Any, namespace: str, storage_root: str | None = None) -> ObservedRuns:
    """Every flow run and task run of the namespace, as plain rows."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterTags,
        TaskRunFilter,
        TaskRunFilterTags,
    )
    from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort

    root = storage_root or os.environ.get("PREFECT_LOCAL_STORAGE_PATH", "")
    flows = read_all(client.read_flow_runs, sort=FlowRunSort.ID_DESC,
                     flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[namespace])))
    tasks = read_all(client.read_task_runs, sort=TaskRunSort.ID_DESC,
                     task_run_filter=TaskRunFilter(tags=TaskRunFilterTags(all_=[namespace])))
    flow_rows = tuple(FlowRunRow(
        str(run.id), run.name, str(run.parameters.get("workflow", "")),
        run.state.type.value if run.state else None, run.state.name if run.state else None,
        run.state.message if run.state else None,
        str(run.parent_task_run_id) if run.parent_task_run_id else None,
        _outputs(run.state, root), run.run_count,
        run.start_time.timestamp() if run.start_time else None) for run in flows)
    task_rows = tuple(TaskRunRow(
        str(run.id), run.name, _task_name(run.name),
        str(run.flow_run_id) if run.flow_run_id else None,
        run.state.type.value if run.state else None, run.state.name if run.state else None,
        run.state.message if run.state else None, _storage_key(run.state),
        _outputs(run.state, root),
        run.start_time.timestamp() if run.start_time else None) for run in tasks)
    return ObservedRuns(flow_rows, task_rows)


def _task_name(run_name: str) -> str:
    """A calculation's type, from its run name (its effect key ``.../<i>:<calc>``)."""
    last = run_name.rpartition("/")[2]
    return last.partition(":")[2] if ":" in last else STEP_TASK


def is_calculation(row: TaskRunRow) -> bool:
    """Calculation task runs are named by their effect key (``.../<i>:<calc>``)."""
    return row.task != STEP_TASK


def _key(row: TaskRunRow) -> str | None:
    """The stored result's key of a task run whose result Prefect kept (its file name)."""
    if row.state_name not in ("Completed", "Cached") or not row.storage_key:
        return None
    return os.path.basename(row.storage_key)


def _attempts(rows: Iterable[Any], place: Any) -> dict[str, str]:
    """``attempt_of`` per row id: the previous row of the same ``place(row)``, in start
    order (rows not yet started last)."""
    earlier: dict[Any, str] = {}
    attempt_of: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: (r.start is None, r.start or 0.0)):
        where = place(row)
        if where is None:
            continue
        if where in earlier:
            attempt_of[row.id] = earlier[where]
        earlier[where] = row.id
    return attempt_of


def to_views(runs: ObservedRuns, labels: Mapping[str, str], restarts: Mapping[str, str],
             aliases: Mapping[str, Iterable[str]], killed: Iterable[str],
             noted: Mapping[str, NotedResult] | None = None) -> tuple[ProcessView, ...]:
    """Harness processes from Prefect's runs (see the module docstring); ``noted``: the
    results stored by task runs that never finished (``read_noted_results``)."""
    task_flow = {t.id: t.flow_run for t in runs.tasks}
    calcs = sorted((t for t in runs.tasks if is_calculation(t)),
                   key=lambda r: (r.start is None, r.start or 0.0))
    children: dict[str, list[str]] = {}
    parents: dict[str, str | None] = {}
    for run in runs.flows:
        parent = task_flow.get(run.parent_task_run) if run.parent_task_run else None
        parents[run.id] = parent
        if parent:
            children.setdefault(parent, []).append(run.id)
    for row in calcs:
        if row.flow_run:
            children.setdefault(row.flow_run, []).append(row.id)
    killed = set(killed)
    flow_attempts = _attempts(runs.flows, lambda r: (parents[r.id], r.name)
                              if parents.get(r.id) else None)
    calc_attempts = _attempts(calcs, lambda r: (r.flow_run, r.name))
    executed = {_key(row) for row in calcs if row.state_name == "Completed"} - {None}
    views: list[ProcessView] = []
    for run in runs.flows:
        state, status = view_state(run.state_type, run.message, run.id not in killed)
        outputs = run.outputs if state == "finished" and status == 0 else (
            {} if state == "finished" else None)
        views.append(ProcessView(
            id=run.id, path=labels.get(run.id, run.name), kind="workflow", name=run.workflow,
            state=state, exit_status=status, outputs=outputs, parent=parents.get(run.id),
            children=tuple(children.get(run.id, ())), restart_of=restarts.get(run.id),
            aliases=tuple(aliases.get(run.id, ())), attempt_of=flow_attempts.get(run.id)))
    for row in calcs:
        state, status = view_state(row.state_type, row.message, False)
        outputs = row.outputs if state == "finished" and status == 0 else (
            {} if state == "finished" else None)
        key = _key(row)
        stored = (noted or {}).get(row.id) if key is None and state in ACTIVE_STATES \
            else None
        if stored is not None and stored.key not in executed:
            # stored, then killed before its final state was sent; had it not stored,
            # the next equal call missed and executed, and that one wrote the record
            key, outputs = stored.key, stored.outputs
        views.append(ProcessView(
            id=row.id, path=row.name, kind="calculation", name=row.task, state=state,
            exit_status=status, outputs=outputs, parent=row.flow_run,
            cache_key=key,
            cached_from_key=_key(row) if row.state_name == "Cached" else None,
            attempt_of=calc_attempts.get(row.id)))
    return tuple(views)
