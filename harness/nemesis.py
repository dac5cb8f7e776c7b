"""The nemesis: executes a scenario's fault plan and logs every fault it arms or lands.

Faults are drawn choices, not sleeps (DESIGN.md section 4):

- ``RaiseIn``: executed by the bodies themselves; logged here as armed.
- ``KillAtCrashpoint``: handed to ``adapter.arm_crashpoint`` before the first launch.
- ``FailCommit``: handed to ``adapter.fail_commit`` before the first launch (an adapter
  without that method is recorded as unsupported).
- ``ExpireLease`` / ``DuplicateDelivery`` at entry k: the adapter hands the task of the
  body that wrote entry k to another worker and returns once one took it over; the gate
  stays shut meanwhile, so that body commits only after the takeover (a redelivery to a
  live worker; its stale commit must be refused, C5). The new holder is logged.
- ``PauseService`` / ``PartitionService`` at entry k: the service is frozen or cut off
  on a thread of their own while the gate opens, so the engine runs into the outage; the
  fault is logged (``t0`` to ``t``) once the service is healed, and ``stop`` waits for it.
- faults "at journal entry k" (``KillOnEffect``, ``RestartBroker``, ``RestartDatabase``,
  ``DropConnection``) and kill requests at a launch's k-th entry (``KillProcess`` with
  ``at_effect``): a thread tails the journal and acts when entry k appears. Bodies of a
  gated session wait after writing an entry until the nemesis has handled it, so the
  fault lands while the body that wrote entry k sits between effect and checkpoint.
  Faults at one entry are applied in plan order, all before the gate opens: a body
  whose worker is killed at its own entry never reaches a ``RaiseIn`` of that attempt
  (the raise is pre-empted; its retry is the next attempt), as the oracle predicts.

An adapter that raises ``Unsupported`` is recorded as such (``status: unsupported``).
For a fault (an engine without a broker cannot restart one) nothing happened, so the run
goes on without it: the fault is listed in ``skipped`` and the runner judges the run
against the scenario without that fault. For a plan operation (``KillProcess``) the run
is flagged (``unsupported``) so the runner stops it: its clauses then read unknown.

Service outages do not eat the chaos budget. A broker or database restart (or dropped
connections) takes as long as the service needs to come back, 10 s on a loaded
machine, and no engine can make progress meanwhile; counted against a launch's chaos
timeout it failed L1 on a correct engine. So the nemesis times each service fault (its
fault line gets ``t0``, the start, beside ``t``, the end) and ``Nemesis.wait`` extends a
launch's deadline by the outage time that overlapped the wait, at most
``MAX_EXCUSED_OUTAGE`` s; the runner records the excused seconds on the wait line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from harness.adapter import EngineAdapter, Handle, offers
from harness.errors import Unsupported
from harness.history import HistoryRecorder
from harness.journal import JournalTail
from harness.session import GATE_OPEN, Session
from scenarios.faults import (
    DropConnection,
    DuplicateDelivery,
    ExpireLease,
    FailCommit,
    Fault,
    KillAtCrashpoint,
    KillOnEffect,
    PartitionService,
    PauseService,
    RaiseIn,
    RestartBroker,
    RestartDatabase,
    fault_kind,
)
from scenarios.plan import KillProcess
from scenarios.scenario import Scenario

__all__ = ["MAX_EXCUSED_OUTAGE", "Nemesis", "needs_gate"]

POLL_SECONDS = 0.002
MAX_EXCUSED_OUTAGE = 300.0
"""At most this many seconds of service outage extend one launch's chaos deadline: a
service that takes longer to come back is stuck, and the wait must end some time. It
must exceed the longest restart a provider itself accepts as successful (a container:
stop up to 30 s + ready up to ``containers.READY_TIMEOUT``, 240 s; a local RabbitMQ:
pid file up to 60 s + ``rabbitmqctl wait`` up to 90 s): at 120 s a broker container
that came back after 123 s at load 37 failed a correct engine's L1."""
OUTAGE_SLICE = 0.5
"""While a service fault is under way, the wait goes on in slices of this many seconds."""
_OUTAGE = (PauseService, PartitionService)
_SERVICE = (RestartBroker, RestartDatabase, DropConnection, *_OUTAGE)
_REDELIVERY = (ExpireLease, DuplicateDelivery)
_AT_ENTRY = (KillOnEffect, RestartBroker, RestartDatabase, DropConnection, *_REDELIVERY,
             *_OUTAGE)
OUTAGE_JOIN_SECONDS = MAX_EXCUSED_OUTAGE
"""How long ``stop`` waits for an outage under way to heal before the heal phase."""


def _entry(fault: Fault) -> int | None:
    """The journal entry a fault waits for (None for faults that wait for none)."""
    if isinstance(fault, KillOnEffect):
        return fault.effect_index
    if isinstance(fault, (RestartBroker, RestartDatabase, DropConnection, *_REDELIVERY,
                          *_OUTAGE)):
        return fault.at_effect
    return None


def needs_gate(scenario: Scenario) -> bool:
    """Whether any fault waits for a journal entry (then bodies must wait for the nemesis)."""
    return any(isinstance(f, _AT_ENTRY) for f in scenario.faults) or any(
        isinstance(op, KillProcess) and op.at_effect is not None for op in scenario.launches)


def _describe(fault: Fault | KillProcess) -> dict[str, Any]:
    fields = dict(vars(fault))
    kind = "kill_process" if isinstance(fault, KillProcess) else fault_kind(fault)
    return {"fault": kind, **fields}


class Nemesis:
    """Arms and lands one scenario's faults through one adapter (see module docstring)."""

    def __init__(self, adapter: EngineAdapter, session: Session, recorder: HistoryRecorder,
                 handles: Mapping[str, Handle], poll: float = POLL_SECONDS) -> None:
        self.adapter = adapter
        self.session = session
        self.recorder = recorder
        self.handles = handles
        self.poll = poll
        self.unsupported: list[str] = []
        self.skipped: list[tuple[Fault, str]] = []  # faults the adapter could not do
        self._tail = JournalTail(session.journal_path)
        self._per_launch: dict[str, int] = {}
        self._index = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        scenario = session.scenario
        self._at_entry = [f for f in scenario.faults if isinstance(f, _AT_ENTRY)]
        self._kill_requests = [op for op in scenario.launches
                               if isinstance(op, KillProcess) and op.at_effect is not None]
        self._outages: list[tuple[float, float | None]] = []  # monotonic (start, end)
        self._outage_lock = threading.Lock()
        self._clock: Callable[[], float] = time.monotonic
        self._outage_threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ arming
    def arm(self) -> None:
        """Log every planned fault and arm crashpoints (before the first launch)."""
        for fault in self.session.scenario.faults:
            if isinstance(fault, KillAtCrashpoint):
                self._do(fault, "armed", partial(self.adapter.arm_crashpoint,
                                                 fault.crashpoint, fault.target, fault.attempt))
            elif isinstance(fault, FailCommit):
                self._do(fault, "armed", partial(self._fail_commit, fault))
            elif isinstance(fault, (RaiseIn, *_AT_ENTRY)):
                self.recorder.add("fault", source="nemesis", status="armed", **_describe(fault))
        for op in self._kill_requests:
            self.recorder.add("fault", source="nemesis", status="armed", **_describe(op))

    def _fail_commit(self, fault: FailCommit) -> None:
        method = getattr(self.adapter, "fail_commit", None)
        if method is None:  # an adapter written before the fault existed
            raise Unsupported(self.adapter.name, self.adapter.tier, "fail commit",
                              "the adapter has no fail_commit method")
        method(fault.target, fault.attempt)

    def _do(self, fault: Fault | KillProcess, status: str, action: Callable[[], Any],
            **extra: Any) -> None:
        if isinstance(fault, _SERVICE):
            action = partial(self._timed, action)
            extra = {**extra, "t0": self._clock()}
        try:
            result = action()
        except Unsupported as error:
            if isinstance(fault, KillProcess):
                self.unsupported.append(str(error))
            else:
                self.skipped.append((fault, str(error)))
            self.recorder.add("fault", source="nemesis", status="unsupported",
                              reason=str(error), **_describe(fault), **extra)
            return
        except Exception as error:  # a fault that cannot land is a fact, not a crash
            self.recorder.add("fault", source="nemesis", status="missed",
                              reason=f"{type(error).__name__}: {error}", **_describe(fault),
                              **extra)
            return
        if isinstance(result, int) and not isinstance(result, bool):
            extra = {**extra, "killed_pid": result}
        elif isinstance(fault, _REDELIVERY):
            extra = {**extra, "taken_over_by": result}
        self.recorder.add("fault", source="nemesis", status=status, **_describe(fault), **extra)

    # ------------------------------------------------------------------ outages
    def _timed(self, action: Callable[[], Any]) -> Any:
        """Run a service fault, recording its outage (also while it is under way)."""
        with self._outage_lock:
            index = len(self._outages)
            self._outages.append((self._clock(), None))
        try:
            return action()
        finally:
            with self._outage_lock:
                self._outages[index] = (self._outages[index][0], self._clock())

    def outage(self, since: float) -> tuple[float, bool]:
        """Seconds of service outage since ``since`` (monotonic), and whether one goes on."""
        now = self._clock()
        with self._outage_lock:
            spans = list(self._outages)
        seconds = sum(max(0.0, (now if end is None else end) - max(start, since))
                      for start, end in spans)
        return seconds, any(end is None for _, end in spans)

    def wait(self, handle: Handle, timeout: float) -> tuple[str | None, float]:
        """``adapter.wait`` with the deadline extended by service outages meanwhile.

        Returns the terminal state (None: the deadline passed) and the seconds excused:
        the outage time that overlapped the wait, at most ``MAX_EXCUSED_OUTAGE``.
        """
        started = self._clock()
        excused = 0.0
        while True:
            seconds, ongoing = self.outage(started)
            excused = min(seconds, MAX_EXCUSED_OUTAGE)
            left = started + timeout + excused - self._clock()
            if ongoing and excused < MAX_EXCUSED_OUTAGE:
                left = max(left, OUTAGE_SLICE)
            state = self.adapter.wait(handle, max(0.0, left))
            if state is not None:
                return state, excused
            seconds, ongoing = self.outage(started)
            more = min(seconds, MAX_EXCUSED_OUTAGE) > excused or (
                ongoing and excused < MAX_EXCUSED_OUTAGE)
            if not more and self._clock() >= started + timeout + excused:
                return None, excused

    # ------------------------------------------------------------------ landing
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nemesis", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop landing faults, handle what is already in the journal, open the gate."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self.session.set_gate(GATE_OPEN)
        for thread in self._outage_threads:  # heal before the heal phase begins
            thread.join(OUTAGE_JOIN_SECONDS)
        self._outage_threads.clear()

    def _run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception as error:  # never die silently: gated bodies wait on us
                self.recorder.add("fault", source="nemesis", status="error",
                                  fault="nemesis", reason=f"{type(error).__name__}: {error}")
            if self._stop.wait(self.poll):
                self.tick()
                return

    def tick(self) -> None:
        """Handle the journal entries appended since the last tick, in order."""
        for record in self._tail.poll():
            self._index += 1
            self._on_entry(self._index, record)
            self.session.set_gate(self._index)

    def _redeliver(self, kind: str, worker: int) -> str | None:
        """``adapter.expire_lease`` or ``duplicate_delivery``; optional, hence ``offers``."""
        if not offers(self.adapter, kind):
            raise Unsupported(self.adapter.name, self.adapter.tier, kind.replace("_", " "),
                              "the adapter offers no redelivery to a live worker")
        method: Callable[[int], str | None] = getattr(self.adapter, kind)
        return method(worker)

    def _start_outage(self, fault: PauseService | PartitionService,
                      where: dict[str, Any]) -> None:
        """Freeze or cut off a service on a thread of its own, so that the gate opens and
        the engine runs into the outage; the fault line is written when it healed (its
        ``t0`` and ``t`` span the outage, as for a restart)."""
        kind = fault_kind(fault)
        if not offers(self.adapter, kind):
            self._do(fault, "fired", partial(self._unoffered, kind), **where)
            return
        action = partial(getattr(self.adapter, kind), fault.service, fault.seconds)
        thread = threading.Thread(target=self._do, args=(fault, "fired", action), kwargs=where,
                                  name=f"nemesis-{kind}", daemon=True)
        self._outage_threads.append(thread)
        thread.start()

    def _unoffered(self, kind: str) -> None:
        raise Unsupported(self.adapter.name, self.adapter.tier, kind.replace("_", " "),
                          "the adapter offers no such fault (it needs servers in containers)")

    def _on_entry(self, index: int, record: Mapping[str, Any]) -> None:
        key = str(record.get("key", ""))
        label = key.partition("/")[0]
        self._per_launch[label] = self._per_launch.get(label, 0) + 1
        where = {"entry": index, "key": key, "worker": record.get("worker")}
        for fault in self._at_entry:
            if _entry(fault) != index:
                continue
            if isinstance(fault, _REDELIVERY):
                self._do(fault, "fired", partial(self._redeliver, fault_kind(fault),
                                                 int(record["worker"])), **where)
                continue
            if isinstance(fault, KillOnEffect):
                self._do(fault, "fired", partial(self.adapter.kill_worker,
                                                 int(record["worker"])), **where)
            elif isinstance(fault, RestartBroker):
                self._do(fault, "fired", partial(self.adapter.restart_broker, fault.hard),
                         **where)
            elif isinstance(fault, RestartDatabase):
                self._do(fault, "fired", self.adapter.restart_database, **where)
            elif isinstance(fault, _OUTAGE):
                self._start_outage(fault, where)
            else:
                self._do(fault, "fired", self.adapter.drop_connection, **where)
        for op in self._kill_requests:
            if op.launch == label and op.at_effect == self._per_launch[label]:
                handle = self.handles.get(op.launch)
                if handle is None:
                    self.recorder.add("fault", source="nemesis", status="missed",
                                      reason=f"launch {op.launch} has no process yet",
                                      **_describe(op), **where)
                    continue
                self._do(op, "fired", partial(self.adapter.kill_process, handle),
                         process=handle.id, **where)
