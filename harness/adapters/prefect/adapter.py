"""The adapter for Prefect 3: ``wfconform run --engine prefect``.

Scenario workflows are flow runs of one served deployment (``flows.scenario_flow``), on
a local server and Runner shared by the harness process (``server``). Per scenario: a
namespace (a tag on every run and part of every calculation task's identity), the
caching configuration in the work directory, and the session file as a flow parameter.

What the adapter does as Prefect's operator, and only that:

- a worker kill is a SIGKILL of a flow-run process (a child of the Runner); the Runner
  reports the run ``CRASHED``; ``wait`` then retries **that same flow run** (what
  ``prefect flow-run retry`` does: ``Scheduled``, forced), which is Prefect's recovery:
  the flow body is re-entered and completed tasks are cache hits of the same run;
- a relaunch is a new flow run of the same parameters (``relaunch=new``), or, on tier
  ``retry`` (or ``WFCONFORM_PREFECT_RELAUNCH=retry``), Prefect's own "Retry" of the
  terminated run;
- caching is the calculation tasks' cache policy (``policy.policy_for``); tier ``key-fn``
  (or ``WFCONFORM_PREFECT_KEY_FN=inputs|inputs+task``) uses a ``cache_key_fn`` instead, and
  ``WFCONFORM_PREFECT_OFF_POLICY=none`` makes "caching off" ``NO_CACHE`` rather than
  Prefect's default (run-scoped) policy;
- ``kill_process`` is Prefect's cancellation (``Cancelling``, the Runner kills the
  process and reports ``Cancelled``); ``invalidate`` expires the node's stored result
  (Prefect invalidates per stored result, not per task run; the outputs stay readable).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.adapter import Handle, Observation
from harness.adapters.prefect.observe import ObservedRuns, is_calculation, read_runs
from harness.adapters.prefect.policy import (
    CACHING_FILE,
    KEY_FN_MODES,
    NOTES_FILE,
    OFF_POLICIES,
)
from harness.errors import AdapterSpecError, Unsupported
from harness.session import BODY_CRASHPOINTS, BodyPlan, Session, write_atomic
from scenarios.capabilities import ALL_CLAUSES, Capabilities
from scenarios.values import VALUE_KINDS

__all__ = ["BODY_CRASHPOINTS", "ENGINE_CRASHPOINTS", "PrefectAdapter", "make_adapter"]

ENGINE_CRASHPOINTS = ("after_checkpoint_before_ack", "while_waiting")

_UNSUPPORTED = {
    "restart_broker": "Prefect has no message broker (the Runner polls the server)",
    "restart_database": "not built: the server's database is SQLite inside the server "
                        "process; a server restart is not a database restart",
    "drop_connection": "not built: flow-run processes talk HTTP to the server per request; "
                       "there is no held connection to drop",
    "fail_commit": "no hook inside Prefect's state commit (the server's API call)",
    "events": "not built: Prefect's event stream is not read by this adapter",
    "expire_lease": "Prefect flow runs hold no lease",
    "duplicate_delivery": "Prefect's Runner has no delivery to duplicate",
    "ownership": "Prefect records no claims or commits beyond the run states",
    "pause_service": "no containerised services",
    "partition_service": "no containerised services",
}
_TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
TIERS: dict[str, dict[str, str]] = {
    "local": {},
    "retry": {"relaunch": "retry"},
    "key-fn": {"key_fn": "inputs"},
}
"""Tiers are configurations of one local server, each a way users run Prefect: ``local``
(a relaunch is a new flow run; caching by ``INPUTS + TASK_SOURCE``), ``retry`` (a
relaunch is Prefect's Retry of the terminated run, the UI's button) and ``key-fn``
(caching by the common ``cache_key_fn`` recipe over the inputs alone). Each has its own
matrix in docs/results/prefect-3.md (``wfconform run --engine prefect --tier NAME``)."""
SETTLE = 3.0


class PrefectAdapter:
    """Runs scenarios on Prefect 3 (see the module docstring)."""

    name = "prefect"

    def __init__(self, tier: str = "local", relaunch: str = "", key_fn: str = "",
                 off_policy: str = "run") -> None:
        if tier == "embedded":  # the harness's generic default tier: the local server
            tier = "local"
        if tier not in TIERS:
            raise AdapterSpecError("prefect", f"tier {tier!r} is not available (tiers: "
                                   f"{', '.join(TIERS)})", "use --tier local, retry or key-fn")
        relaunch = relaunch or TIERS[tier].get("relaunch", "new")
        key_fn = key_fn or TIERS[tier].get("key_fn", "")
        if relaunch not in ("new", "retry") or key_fn not in KEY_FN_MODES \
                or off_policy not in OFF_POLICIES:
            raise AdapterSpecError("prefect", f"bad options relaunch={relaunch!r} "
                                   f"key_fn={key_fn!r} off_policy={off_policy!r}",
                                   f"relaunch: new|retry; key_fn: {KEY_FN_MODES}; "
                                   f"off_policy: {OFF_POLICIES}")
        self.tier = tier
        self.relaunch_mode, self.key_fn, self.off_policy = relaunch, key_fn, off_policy
        self.prefect: Any = None
        self.session: Session | None = None
        self.namespace = ""
        self._plan = BodyPlan()
        self._labels: dict[str, str] = {}
        self._restarts: dict[str, str] = {}
        self._aliases: dict[str, list[str]] = {}
        self._retried: dict[str, int] = {}
        self._killed: set[str] = set()

    # ------------------------------------------------------------------ declaration
    def capabilities(self) -> Capabilities:
        """What Prefect documents (see docs/results/prefect-3.md for each deviation).

        Every clause is promised; failures are findings. Prefect never caches a failed
        task run (``never``); its INPUTS hash declares no normalisation; it takes every
        value kind (task inputs are Python objects, results are pickled). A calculation
        run with caching off keeps no result a later lookup could find (its key is
        run-scoped, or ``NO_CACHE``): the configuration applies ``at_launch``. Prefect
        keeps one result per cache key and the adapter invalidates by expiring it:
        ``per_stored_result``.
        """
        return Capabilities(
            promised=frozenset(ALL_CLAUSES),
            failed_source_policy="never",
            hash_normalisations=frozenset(),
            crashpoints=frozenset(BODY_CRASHPOINTS + ENGINE_CRASHPOINTS),
            tiers=frozenset(TIERS),
            value_kinds=frozenset(VALUE_KINDS),
            caching_config_applies="at_launch",
            invalidation_scope="per_stored_result",
            # a flow run is a new Python process (about 10 s a launch here), and a
            # killed one is retried only once Prefect marks it CRASHED (prefect-3.md)
            min_chaos_timeout=120.0, min_heal_timeout=60.0,
        )

    def supports(self, operation: str) -> bool:
        return operation not in _UNSUPPORTED

    def _unsupported(self, operation: str) -> Unsupported:
        return Unsupported(self.name, self.tier, operation.replace("_", " "),
                           _UNSUPPORTED[operation])

    # ------------------------------------------------------------------ lifecycle
    def open(self, session: Session) -> None:
        from harness.adapters.prefect.server import shared

        self.session = session
        self.prefect = shared()
        self.namespace = f"wfc-{uuid.uuid4().hex[:12]}"
        self._write_caching({"default": False})

    def close(self) -> None:
        """Cancel what is still active in this scenario's namespace; the server stays."""
        prefect, self.prefect = self.prefect, None
        if prefect is None or prefect.client is None:
            return
        try:
            runs = read_runs(prefect.client, self.namespace, prefect.storage)
        except Exception:
            return
        for run in runs.flows:
            if run.state_type not in _TERMINAL:
                _force_state(prefect.client, run.id, "CANCELLED")
        if self.session is not None:  # nothing of this scenario may run on
            for pid in _scenario_pids(self.session, prefect.flow_run_pids()):
                _kill(pid)

    def _client(self) -> Any:
        if self.prefect is None or self.session is None:
            raise RuntimeError("PrefectAdapter used before open() or after close()")
        return self.prefect.client

    # ------------------------------------------------------------------ the plan
    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        from scenarios._value_codec import encode_value

        assert self.session is not None
        params = {"session": str(self.session.path), "workflow": workflow, "label": label,
                  "inputs": json.dumps({k: encode_value(v) for k, v in inputs.items()}),
                  "namespace": self.namespace}
        return self._create(label, params)

    def _create(self, label: str, params: dict[str, Any]) -> Handle:
        run = self._client().create_flow_run_from_deployment(
            self.prefect.deployment_id, parameters=params, name=label, tags=[self.namespace])
        self._labels[str(run.id)] = label
        return Handle(label, str(run.id))

    def relaunch(self, label: str, of: Handle) -> Handle:
        """A new flow run of the same parameters, or (``retry``) Prefect's Retry of ``of``."""
        client = self._client()
        if self.relaunch_mode == "retry":
            _force_state(client, of.id, "SCHEDULED")
            self._aliases.setdefault(of.id, []).append(label)
            return Handle(label, of.id)
        old = client.read_flow_run(uuid.UUID(of.id))
        handle = self._create(label, {**old.parameters, "label": label})
        self._restarts[handle.id] = of.id
        return handle

    def wait(self, handle: Handle, timeout: float) -> str | None:
        """Poll the flow run; a ``CRASHED`` run (its process died) is retried, same id."""
        from harness.adapters.prefect.policy import view_state

        client = self._client()
        deadline = time.monotonic() + timeout
        if not any(f.id == handle.id for f in self.runs().flows):
            return self._wait_task(handle, deadline)
        while True:
            run = client.read_flow_run(uuid.UUID(handle.id))
            kind = run.state.type.value if run.state else None
            if kind == "CRASHED" and handle.id not in self._killed:
                self._retry_crashed(handle.id)
            elif kind in _TERMINAL:
                return view_state(kind, run.state.message, False)[0]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)

    def _wait_task(self, handle: Handle, deadline: float) -> str | None:
        """During heal the harness also waits on calculations: a task run ends only with
        its flow run (nothing retries a task run of a dead process by itself)."""
        from harness.adapters.prefect.policy import view_state

        while True:
            task_run = self._client().read_task_run(uuid.UUID(handle.id))
            kind = task_run.state.type.value if task_run.state else None
            if kind in _TERMINAL:
                return view_state(kind, task_run.state.message, False)[0]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)

    def _retry_crashed(self, run_id: str) -> None:
        self._retried[run_id] = self._retried.get(run_id, 0) + 1
        _force_state(self._client(), run_id, "SCHEDULED")
        _note(self.session, {"retried": run_id, "times": self._retried[run_id]})

    def kill_process(self, handle: Handle) -> None:
        """Prefect's cancellation: ``Cancelling``; the Runner ends the process."""
        client = self._client()
        run = client.read_flow_run(uuid.UUID(handle.id))
        if run.state is not None and run.state.type.value in _TERMINAL:
            return
        self._killed.add(handle.id)
        _force_state(client, handle.id, "CANCELLING")

    def set_caching(self, default: bool, enabled: tuple[str, ...],
                    disabled: tuple[str, ...]) -> None:
        self._write_caching({"default": default, "enabled": list(enabled),
                             "disabled": list(disabled)})

    def _write_caching(self, caching: dict[str, Any]) -> None:
        assert self.session is not None
        data = {"caching": caching, "key_fn": self.key_fn, "off_policy": self.off_policy}
        write_atomic(Path(self.session.workdir) / CACHING_FILE, json.dumps(data))

    def invalidate(self, handle: Handle, calc_path: str) -> None:
        """Expire the stored result of the node at that path (its cache record).

        Prefect keeps one record per cache key, shared by the task run that stored it and
        every task run that hit it; expired (Prefect's own ``cache_expiration``), every
        later lookup of the key misses while those finished task runs keep their outputs.
        Deleting the file, as the adapter did first, took their outputs with it: they read
        ``null`` afterwards and N1 failed (key-fn fuzz witness, prefect-3.md).
        """
        path = f"{handle.label}/{calc_path}"
        runs = read_runs(self._client(), self.namespace, self.prefect.storage)
        keys = [t.storage_key for t in runs.tasks if t.name == path and t.storage_key]
        if not keys:
            raise Unsupported(self.name, self.tier, f"invalidate {path}",
                              "the node has no stored result to expire")
        for key in keys:
            _expire_record(key)
        _note(self.session, {"invalidated": path, "keys": keys})

    # ------------------------------------------------------------------ faults
    def arm_crashpoint(self, crashpoint: str, target: str, attempt: int) -> None:
        if crashpoint == "while_waiting" and target.startswith("calc:"):
            raise Unsupported(self.name, self.tier, f"arm {crashpoint} on {target}",
                              "a calculation waits for nothing")
        if crashpoint not in BODY_CRASHPOINTS + ENGINE_CRASHPOINTS:
            raise Unsupported(self.name, self.tier, f"arm crashpoint {crashpoint!r}",
                              "not emulated for Prefect")
        self._plan = self._plan.with_kill((crashpoint, target, attempt))
        assert self.session is not None
        self.session.write_plan(self._plan)

    def disarm_all(self) -> None:
        self._plan = BodyPlan(active=False)
        if self.session is not None:
            self.session.write_plan(self._plan)

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL a flow-run process of this scenario (the Runner then reports CRASHED)."""
        assert self.session is not None and self.prefect is not None
        if pid is None:
            mine = _scenario_pids(self.session, self.prefect.flow_run_pids())
            if not mine:
                raise RuntimeError("no flow-run process of this scenario is running")
            pid = mine[0]
        _kill(pid)
        return pid

    def restart_broker(self, hard: bool) -> None:
        raise self._unsupported("restart_broker")

    def restart_database(self) -> None:
        raise self._unsupported("restart_database")

    def drop_connection(self) -> None:
        raise self._unsupported("drop_connection")

    def fail_commit(self, target: str, attempt: int) -> None:
        raise self._unsupported("fail_commit")

    # ------------------------------------------------------------------ views
    def observe(self) -> Observation:
        """The namespace's runs, once the server has caught up (see ``_settled``); a
        calculation task run that never finished reports the result it stored, if any
        (``observe.read_noted_results``: Prefect serves hits from it)."""
        from harness.adapters.prefect.observe import read_noted_results, to_views

        runs = self._settled()
        assert self.session is not None
        unfinished = [t.id for t in runs.tasks
                      if is_calculation(t) and t.state_type not in _TERMINAL]
        noted = read_noted_results(Path(self.session.workdir) / NOTES_FILE,
                                   self.prefect.storage, unfinished)
        return Observation(to_views(runs, self._labels, self._restarts, self._aliases,
                                    self._killed, noted))

    def _settled(self) -> ObservedRuns:
        """Task-run states reach the server as events, flushed asynchronously: a task run
        of a terminal flow run can still read ``Running`` (or carry its default name) for
        a moment. Read again, up to ``SETTLE`` s, until none is left like that; what stays
        unsettled (the events of a killed process never arrive) is reported as it is."""
        deadline = time.monotonic() + SETTLE
        while True:
            runs = read_runs(self._client(), self.namespace, self.prefect.storage)
            done = {f.id for f in runs.flows if f.state_type in _TERMINAL}
            lagging = [t for t in runs.tasks if t.flow_run in done
                       and t.state_type not in _TERMINAL | {"CACHED"}]
            if not lagging or time.monotonic() > deadline:
                return runs
            time.sleep(0.2)

    def runs(self) -> ObservedRuns:
        return read_runs(self._client(), self.namespace, self.prefect.storage)

    def events(self) -> tuple[Mapping[str, Any], ...]:
        return ()

    def diagnose(self, handle: Handle) -> str:
        """Why a run is not terminal: its state, run count, the adapter's retries; for a
        calculation (the harness also asks about those), its task run's state."""
        client = self._client()
        if not any(f.id == handle.id for f in self.runs().flows):
            task_run = client.read_task_run(uuid.UUID(handle.id))
            state = task_run.state
            return (f"task run {state.type.value if state else '?'} "
                    f"({state.name if state else ''}) of flow run {task_run.flow_run_id}; "
                    "a task run of a killed flow-run process is never finished by Prefect")
        run = client.read_flow_run(uuid.UUID(handle.id))
        state = run.state
        return (f"{state.type.value if state else '?'} ({state.message if state else ''}); "
                f"run_count {run.run_count}; retried by the adapter "
                f"{self._retried.get(handle.id, 0)} time(s); flow-run processes "
                f"{self.prefect.flow_run_pids() if self.prefect else []}")


def _force_state(client: Any, run_id: str, kind: str) -> None:
    from prefect.states import Cancelled, Cancelling, Scheduled

    state = {"SCHEDULED": Scheduled, "CANCELLING": Cancelling, "CANCELLED": Cancelled}[kind]
    client.set_flow_run_state(uuid.UUID(run_id), state(message="wfconform"), force=True)


EXPIRED = "2000-01-01T00:00:00+00:00"
"""The expiration written into an invalidated result record: any time in the past."""


def _expire_record(path: str) -> None:
    """Set a stored result record's ``metadata.expiration`` to ``EXPIRED``, in place.

    Prefect's cache lookup (``ResultStore.exists``) treats an expired record as absent;
    reading the result (``state.result()``, the adapter's view) ignores the expiration.
    The record is rewritten atomically (a flow run may be reading it); a file already
    gone stays gone.
    """
    file = Path(path)
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except ValueError as exc:
        raise RuntimeError(f"cannot expire Prefect result record {file}: not JSON "
                           f"({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("metadata"), dict):
        raise RuntimeError(f"cannot expire Prefect result record {file}: it has no "
                           "metadata object (not a result record of Prefect 3?)")
    record["metadata"]["expiration"] = EXPIRED
    write_atomic(file, json.dumps(record))


def _scenario_pids(session: Session, running: list[int]) -> list[int]:
    """The flow-run processes that ran a body of this scenario, most recent first (the
    Runner's children carry no scenario in their command line or environment)."""
    seen = [int(r["worker"]) for r in session.read_log(session.begins_path)]
    return [pid for pid in dict.fromkeys(reversed(seen)) if pid in running]


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _note(session: Session | None, record: dict[str, Any]) -> None:
    if session is not None:
        from harness.journal import AppendLog

        with AppendLog(Path(session.workdir) / "prefect_adapter.jsonl") as log:
            log.append(record)


def make_adapter(tier: str = "local") -> PrefectAdapter:
    """Factory used by ``load_adapter('prefect', tier)`` (``TIERS``); further options
    from the environment, over the tier's: ``WFCONFORM_PREFECT_RELAUNCH`` (new|retry),
    ``WFCONFORM_PREFECT_KEY_FN`` (inputs|inputs+task), ``WFCONFORM_PREFECT_OFF_POLICY``
    (run|none)."""
    import importlib.util

    if importlib.util.find_spec("prefect") is None:
        raise AdapterSpecError("prefect", "prefect is not installed",
                               "install it with python -m pip install -e '.[prefect]'")
    return PrefectAdapter(tier, relaunch=os.environ.get("WFCONFORM_PREFECT_RELAUNCH", ""),
                          key_fn=os.environ.get("WFCONFORM_PREFECT_KEY_FN", ""),
                          off_policy=os.environ.get("WFCONFORM_PREFECT_OFF_POLICY", "run"))
