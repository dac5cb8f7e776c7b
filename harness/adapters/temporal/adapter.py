"""``TemporalAdapter``: Temporal workers on a throwaway dev server, judged by the harness.

One dev server per harness process (``server``), started at the first scenario and
reaped at exit. Per scenario: a task queue of its own, workflow ids derived from it
(``wfc-<run>-<label>``, children ``<parent id>/<step path>``, never reused:
``REJECT_DUPLICATE``, so a workflow id is one run), and ``workers`` worker OS processes
(``worker``), started at the first launch, restarted by a supervisor thread when they
die (as a process manager would), killed by ``close``.

What the adapter does as Temporal's operator, and only that:

- a worker kill is a SIGKILL of a worker process; Temporal notices through the activity's
  heartbeat timeout and retries the activity on a live worker, in the same run;
- a relaunch is a new workflow (a new id: Temporal keeps no link to the old run);
- ``kill_process`` is Temporal's terminate (children follow by their parent close policy);
- a broker or database restart is a kill -9 (or, for a soft broker restart, SIGTERM) of
  the dev server and a start on the same port and SQLite file: Temporal's server is both
  its task queue and its database.

What Temporal has not is declared, not faked: no result cache (caching on and
invalidation are ``Unsupported``; caching off is what it always does); no hook in the
server's persistence (``fail_commit``); no held connection this adapter can cut
(``drop_connection``). Two crashpoints are emulated (``workflows``):
``after_checkpoint_before_ack`` kills the worker whose workflow task takes up the
body's completed activity (the completion is in the history, the workflow task's
commands are not), and ``while_waiting``, since a waiting workflow runs no code, kills
the worker as the waiting step's first child begins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

import harness
from harness.adapter import Handle, Observation
from harness.adapters.temporal.observe import Event, History, Launched, build_views
from harness.adapters.temporal.server import NAMESPACE, LocalTemporal, shared_server
from harness.adapters.temporal.timeouts import TIERS, settings_for
from harness.adapters.temporal.worker import SETTINGS_ENV
from harness.adapters.temporal.workflows import AFTER_CHECKPOINT, WHILE_WAITING, WORKFLOW_TYPE
from harness.errors import AdapterSpecError, Unsupported
from harness.services._proc import MARKER_ENV
from harness.session import BodyPlan, Session
from harness.worker_pool import WorkerPool
from scenarios import ALL_CLAUSES, Capabilities
from scenarios._value_codec import encode_value
from scenarios.values import VALUE_KINDS

__all__ = ["BODY_CRASHPOINTS", "NOT_PROMISED", "TemporalAdapter", "make_adapter"]

T = TypeVar("T")
BODY_CRASHPOINTS = frozenset({"after_claim", "before_effect", "after_effect_before_checkpoint"})
_TERMINAL = ("finished", "excepted", "killed")
NOT_PROMISED = {
    "N4": "Temporal has no result cache: no hit can be expected",
    **{clause: "Temporal has no result cache" for clause in
       ("K1", "K2", "K3", "K4", "K5", "K7", "K8")},
}
"""Clauses not promised, and why (K6, "workflows are never cached; caching off never
hits", Temporal keeps)."""
_UNSUPPORTED = {
    "set_caching": "Temporal has no result cache (identical activities always execute)",
    "invalidate": "Temporal has no result cache",
    "drop_connection": "not built: the workers' gRPC connections are held inside the SDK's "
                       "Rust core; there is no handle to cut them from outside",
    "fail_commit": "no hook inside the Temporal server's persistence transaction",
    "events": "not built: the adapter reads histories at the end, not a state-change log",
    "expire_lease": "not built", "duplicate_delivery": "not built",
    "ownership": "Temporal records no claims beyond activity attempts",
    "pause_service": "no containerised services", "partition_service": "no "
    "containerised services",
}
WORKERS = 3
"""Worker processes per scenario. Three, not two: the catalog kills up to two workers in
one launch, and with two the second kill left none alive, so the launch waited for a new
worker process to start (5 to 12 s of Python imports at load 30), which is this machine's
cost, not Temporal's recovery (it failed L1's chaos bound once at load 35)."""
SETTLE_QUIET = 0.5
"""Seconds the journal must stay unchanged before ``observe`` reads the histories: an
activity abandoned by a terminated workflow may still be finishing its body."""
SETTLE_TIMEOUT = 10.0


class _Loop:
    """One asyncio loop in a daemon thread: the SDK is async, the protocol is not."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="temporal-client")
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


_loop: _Loop | None = None
_clients: dict[str, Any] = {}


def _client(address: str) -> tuple[_Loop, Any]:
    """The SDK client of this harness process for ``address`` (reconnects by itself)."""
    global _loop
    if _loop is None:
        _loop = _Loop()
    if address not in _clients:
        from temporalio.client import Client
        from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

        # the SDK's core logs each retried call at WARN on the terminal; a server restart
        # (a fault) retries every poll, which is expected here, not news
        quiet = Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(
            filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))
        _clients[address] = _loop.run(Client.connect(address, namespace=NAMESPACE,
                                                     runtime=quiet))
    return _loop, _clients[address]


class TemporalAdapter:
    """Temporal 1.x on its dev server (see the module docstring)."""

    name = "temporal"

    def __init__(self, tier: str = "fast", workers: int = WORKERS) -> None:
        if tier not in TIERS:
            raise AdapterSpecError("temporal", f"unknown tier {tier!r}",
                                   f"use one of {', '.join(TIERS)}")
        self.tier = tier
        self.workers = workers
        self.settings = settings_for(tier)
        self.session: Session | None = None
        self.server: LocalTemporal | None = None
        self.queue = ""
        # a killed worker restarts, as a process manager would
        self.pool = WorkerPool("temporal", workers, self._start_worker)
        self.launches: dict[str, Launched] = {}
        self._plan = BodyPlan()  # kills the bodies and the worker-side hooks land
        self._generation = 0

    # ------------------------------------------------------------ declaration
    def capabilities(self) -> Capabilities:
        return Capabilities(
            promised=frozenset(ALL_CLAUSES) - set(NOT_PROMISED),
            failed_source_policy="never",
            hash_normalisations=frozenset(),
            crashpoints=BODY_CRASHPOINTS | {WHILE_WAITING, AFTER_CHECKPOINT},
            tiers=frozenset(TIERS),
            value_kinds=frozenset(VALUE_KINDS),
            # a kill is noticed when an activity timeout expires: 1 s heartbeat on `fast`,
            # 10 s start-to-close on `default-timeouts` (temporal-1.md)
            **({"min_chaos_timeout": 60.0, "min_heal_timeout": 30.0}
               if self.tier == "default-timeouts"
               else {"min_chaos_timeout": 30.0, "min_heal_timeout": 10.0}),
        )

    def supports(self, operation: str) -> bool:
        """``set_caching`` is supported for caching *off* (what Temporal always does);
        turning it on is refused at the call, so a scenario that only turns it off runs."""
        return operation == "set_caching" or operation not in _UNSUPPORTED

    def _unsupported(self, operation: str, what: str | None = None) -> Unsupported:
        return Unsupported(self.name, self.tier, what or operation.replace("_", " "),
                           _UNSUPPORTED[operation])

    # ------------------------------------------------------------ lifecycle
    def open(self, session: Session) -> None:
        self.session = session
        self.server = shared_server()
        self.queue = "wfc-" + uuid.uuid4().hex[:12]

    def _client(self) -> tuple[_Loop, Any]:
        assert self.server is not None, "open() first"
        return _client(self.server.address)

    def _ensure_workers(self) -> None:
        """Start the workers at the first launch (a refused scenario costs none)."""
        self.pool.start()

    @property
    def procs(self) -> list[subprocess.Popen[bytes]]:
        """The workers' processes (``WorkerPool``)."""
        return self.pool.procs

    def _start_worker(self, index: int) -> subprocess.Popen[bytes]:
        assert self.session is not None and self.server is not None
        self._generation += 1
        root = str(Path(harness.__file__).resolve().parent.parent)
        worker = {"address": self.server.address, "namespace": NAMESPACE,
                  "queue": self.queue, **self.settings["worker"]}
        env = {**os.environ, **self.session.env(), SETTINGS_ENV: json.dumps(worker),
               MARKER_ENV: self.server.worker_marker,
               "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH"))
                                             if p)}
        log_path = self.session.workdir / f"temporal-worker-{index}-{self._generation}.log"
        with open(log_path, "ab") as log:
            return subprocess.Popen([sys.executable, "-m", "harness.adapters.temporal.worker"],
                                    env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)

    def close(self) -> None:
        self.pool.close()
        if self.server is not None and self.launches:
            with contextlib.suppress(Exception):  # cleanup must not raise
                self._terminate_open()
        self.server = None

    def _terminate_open(self) -> None:
        """End what is still running, so the server retries nothing of this scenario."""
        loop, client = self._client()
        for launch in self.launches.values():
            with contextlib.suppress(Exception):
                loop.run(client.get_workflow_handle(launch.id).terminate("wfconform: end "
                                                                          "of scenario"), 5)

    # ------------------------------------------------------------ the plan
    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        from temporalio.common import WorkflowIDReusePolicy

        self._ensure_workers()
        workflow_id = f"{self.queue}-{label}"
        request = {"workflow": workflow, "path": label, "label": label, "root": workflow_id,
                   "inputs": {k: encode_value(v) for k, v in inputs.items()},
                   "timeouts": self.settings["workflow"]}
        self.launches[workflow_id] = Launched(workflow_id, label, workflow)
        self._inputs = getattr(self, "_inputs", {})
        self._inputs[workflow_id] = dict(inputs)
        task = self.settings["workflow"].get("workflow_task")
        loop, client = self._client()
        from datetime import timedelta

        loop.run(client.start_workflow(
            WORKFLOW_TYPE, request, id=workflow_id, task_queue=self.queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            task_timeout=None if task is None else timedelta(seconds=float(task))))
        return Handle(label, workflow_id)

    def relaunch(self, label: str, of: Handle) -> Handle:
        """A new workflow (new id, new run) of the same inputs: Temporal's "run it again"."""
        origin = self.launches[of.id]
        return self.launch(label, origin.workflow, self._inputs[of.id])

    def wait(self, handle: Handle, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            view = next((v for v in self._views() if v.id == handle.id), None)
            if view is not None and view.terminal:
                return view.state
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def kill_process(self, handle: Handle) -> None:
        """Temporal's terminate; a terminal workflow is left as it is."""
        from temporalio.service import RPCError

        loop, client = self._client()
        with contextlib.suppress(RPCError):  # already closed: a no-op
            loop.run(client.get_workflow_handle(handle.id).terminate("wfconform: kill"))

    def set_caching(self, default: bool, enabled: tuple[str, ...],
                    disabled: tuple[str, ...]) -> None:
        if default or enabled:
            raise self._unsupported("set_caching", "turn caching on")

    def invalidate(self, handle: Handle, calc_path: str) -> None:
        raise self._unsupported("invalidate", "invalidate a cache source")

    # ------------------------------------------------------------ faults
    def arm_crashpoint(self, crashpoint: str, target: str, attempt: int) -> None:
        if crashpoint == WHILE_WAITING and target.startswith("calc:"):
            raise Unsupported(self.name, self.tier, f"arm {crashpoint} on {target}",
                              "a calculation waits for nothing")
        if crashpoint not in BODY_CRASHPOINTS and crashpoint not in (WHILE_WAITING,
                                                                     AFTER_CHECKPOINT):
            raise Unsupported(self.name, self.tier, f"arm crashpoint {crashpoint}",
                              "not a crashpoint this adapter knows")
        self._plan = self._plan.with_kill((crashpoint, target, attempt))
        assert self.session is not None
        self.session.write_plan(self._plan)

    def disarm_all(self) -> None:
        self._plan = BodyPlan(active=False)
        if self.session is not None:
            self.session.write_plan(self._plan)

    def fail_commit(self, target: str, attempt: int) -> None:
        raise self._unsupported("fail_commit", "refuse a commit")

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL worker ``pid`` (a body's worker) or any live worker of this scenario."""
        alive = self.pool.pids()
        if pid is None:
            if not alive:
                raise RuntimeError("no Temporal worker of this scenario is running")
            pid = alive[0]
        elif pid not in {p.pid for p in self.procs}:
            raise ValueError(f"pid {pid} is not a worker of this run (workers: {alive})")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        return pid

    def restart_broker(self, hard: bool) -> None:
        """The dev server is Temporal's task queue: kill -9 (or stop) it, start it again
        on the same port and database file."""
        assert self.server is not None
        self.server.kill() if hard else self.server.stop()
        self.server.start()

    def restart_database(self) -> None:
        """The dev server is Temporal's database too (SQLite inside it): kill -9, start."""
        assert self.server is not None
        self.server.kill()
        self.server.start()

    def drop_connection(self) -> None:
        raise self._unsupported("drop_connection")

    # ------------------------------------------------------------ the view
    def _history(self, workflow_id: str) -> History:
        from temporalio.service import RPCError

        loop, client = self._client()
        handle = client.get_workflow_handle(workflow_id)
        try:
            history = loop.run(handle.fetch_history(), 30)
        except RPCError:  # not found: initiated by its parent, never started
            return History(workflow_id, None, ())
        return History(workflow_id, history.run_id, tuple(_events(history.events)))

    def _views(self) -> tuple[Any, ...]:
        return build_views(self.launches.values(), self._history)

    def observe(self) -> Observation:
        """Temporal's view once the journal is quiet (see ``SETTLE_QUIET``)."""
        if self.session is not None and self.procs:
            _settle(self.session.journal_path)
        return Observation(self._views())

    def events(self) -> tuple[Mapping[str, Any], ...]:
        return ()

    def diagnose(self, handle: Handle) -> str:
        alive = self.pool.alive()
        try:
            history = self._history(handle.id.partition("/")[0] if ":" in handle.id
                                    else handle.id)
            tail = [e.kind for e in history.events[-4:]]
        except Exception as error:  # the server may be down: say so
            tail = [f"history unreadable: {error}"]
        return (f"{alive} of {len(self.procs)} Temporal workers alive; the workflow's last "
                f"history events: {tail}; server up: "
                f"{self.server.is_running() if self.server else False}")


def _settle(journal: Path) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        try:
            size = journal.stat().st_size
        except FileNotFoundError:
            size = 0
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= SETTLE_QUIET:
            return
        time.sleep(0.05)


def _payload(payloads: Any) -> Any:
    """The first JSON payload of a ``Payloads`` message (the SDK's default converter)."""
    items = list(getattr(payloads, "payloads", ()))
    if not items or not items[0].data:
        return None
    return json.loads(items[0].data)


def _events(events: Any) -> list[Event]:
    """History events as ``observe.Event`` records (only the fields read there)."""
    found = []
    for event in events:
        name = event.WhichOneof("attributes")
        if name is None:
            continue
        kind = name.removesuffix("_event_attributes")
        attrs = getattr(event, name)
        fields: dict[str, Any] = {}
        if kind == "workflow_execution_started":
            fields["input"] = _payload(attrs.input)
        elif kind == "workflow_execution_completed":
            fields["result"] = _payload(attrs.result)
        elif kind == "activity_task_scheduled":
            fields = {"activity_id": attrs.activity_id, "type": attrs.activity_type.name}
        elif kind.startswith("activity_task_"):
            fields = {"scheduled": attrs.scheduled_event_id}
            if kind == "activity_task_completed":
                fields["result"] = _payload(attrs.result)
            elif kind == "activity_task_started":
                fields["attempt"] = attrs.attempt
        elif kind == "start_child_workflow_execution_initiated":
            fields = {"workflow_id": attrs.workflow_id, "input": _payload(attrs.input)}
        found.append(Event(event.event_id, kind, fields))
    return found


def make_adapter(tier: str = "fast") -> TemporalAdapter:
    """The factory ``--engine temporal`` loads."""
    import importlib.util

    if importlib.util.find_spec("temporalio") is None:
        raise AdapterSpecError("temporal", "temporalio is not installed",
                               "install it with python -m pip install 'wfconform[temporal]'")
    return TemporalAdapter(tier=tier)
