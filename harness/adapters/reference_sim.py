"""The reference engine's ``sim`` tier: a whole scenario in-process on a seeded ``Simulation``.

Why a subclass of ``ReferenceAdapter``: the simulation offers the ``Engine`` vocabulary
(``relaunch``, ``kill``, ``set_caching``, ``invalidate``, ``arm``, ``list``, ``store``),
so naming, caching rules and views are shared with the embedded tier and a differential
test compares like with like. What differs (``reference_engine/sim/HARNESS.md``):

- no daemon and no OS workers: ``wait`` runs the scheduler until no task is left (a step
  budget replaces the timeout);
- bodies run in this process, through ``SimBodyRuntime`` (installed as
  ``BodyRuntime.current()``): the journal's worker is the simulated owner (``w3`` -> 3),
  kills at body crashpoints raise ``SimulatedKill``, and each effect is also recorded in
  the simulation's history, so ``digest`` covers the journal;
- faults "at journal entry k" still go through the runner's nemesis and its gate (the
  body waits until the nemesis handled entry k), but the nemesis thread never touches the
  simulation: the adapter queues its request and the waiting body applies it on the
  simulation's own thread (``queue_fault``: it lands at this worker's next switch point,
  between the effect and its checkpoint, as the gate guarantees on real engines). So a
  run is a function of the seed: same seed, same ``digest``.

``drop_connection`` is simulated as a database restart (calls in flight fail before or
after their commit), its superset in the simulator. ``expire_lease`` and
``duplicate_delivery`` queue a takeover (``Simulation.queue_takeover``): the body's
worker loses its task at its next switch point and is held there until another worker
claimed it. ``ownership`` reads the simulation's own ``claim`` and ``write`` events,
which carry versions and the fence's answer, refused commits included.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from harness.adapter import Handle, Observation, Ownership
from harness.adapters.reference import ReferenceAdapter
from harness.adapters.reference_arrays import to_engine
from harness.adapters.reference_workflows import LAUNCHES_FILE, register
from harness.bodies import BodyRuntime
from harness.coverage import step_kind_table
from harness.journal import AppendLog, BeginEntry
from harness.session import BodyPlan, Session
from harness.sim_fast import MemoryLog, MemorySession
from reference_engine.loader import check_inputs
from reference_engine.sim import SimulatedKill, Simulation, record_effect
from reference_engine.sim.history import _current_worker  # the running worker: no public getter
from scenarios.scenario import Scenario

__all__ = ["DEFAULT_MAX_STEPS", "SimBodyRuntime", "SimReferenceAdapter", "scenario_seed"]

DEFAULT_MAX_STEPS = 5_000
"""Scheduling steps one ``wait`` may take: far above any scenario's need (measured: the
catalog's longest wait takes 106 steps, 300 generated scenarios' 251). A livelocked
engine (``ack_before_commit``) spends the whole budget on every wait: 200,000 made its
selftest detection 13 s (quiet machine: several seconds), this makes it a fortieth."""

_KIND_OF_FAULT = {"restart_broker": "broker_restart", "restart_database": "db_restart",
                  "drop_connection": "db_restart", "kill_worker": "kill"}


def scenario_seed(scenario: Scenario) -> int:
    """The scenario's own ``seed``, else one derived from what it does (stable across runs).

    Name, description and clause tag are left out: the shrinker renames and redescribes
    its witness after the run that failed, and a replay must run under that run's seed.
    """
    if scenario.seed is not None:
        return scenario.seed
    labels = ("name", "description", "clause")
    content = {k: v for k, v in scenario.to_dict().items() if k not in labels}
    text = json.dumps(content, sort_keys=True, default=repr)
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def _worker() -> Any:
    worker = _current_worker.get()
    if worker is None:
        raise RuntimeError("a sim body ran outside a simulated worker")
    return worker


class _SimJournal(AppendLog):
    """The session's journal log, plus each effect in the simulation's history (and
    digest); wraps the file (``AppendLog``) or the in-memory list (``MemoryLog``)."""

    def __init__(self, log: AppendLog) -> None:
        self.log = log
        self.path = log.path

    def append(self, record: Mapping[str, Any]) -> str:
        record_effect(str(record["key"]))
        return self.log.append(record)

    def close(self) -> None:
        self.log.close()


class SimBodyRuntime(BodyRuntime):
    """``BodyRuntime`` for bodies that run inside simulated workers (module docstring)."""

    def __init__(self, session: Session, adapter: SimReferenceAdapter) -> None:
        super().__init__(session, die=self._die)
        self.journal = _SimJournal(self.journal)
        self.in_memory = isinstance(session, MemorySession)
        self.adapter = adapter
        self._attempts: dict[str, int] = {}
        self._landing: str | None = None

    def worker_id(self) -> int:
        return int(str(_worker().owner).lstrip("w"))

    def _begin(self, entry: BeginEntry) -> int:
        """Counted in memory: one thread, so appends and counts cannot interleave."""
        self.begins.append(entry.to_record())
        count = self._attempts[entry.target] = self._attempts.get(entry.target, 0) + 1
        return count

    def plan(self) -> BodyPlan:
        if self.in_memory:
            return self.session.read_plan()
        return super().plan()

    def _wait_gate(self, line: str) -> None:
        if self.in_memory:  # the nemesis handles the entry now, in this thread
            assert isinstance(self.session, MemorySession)
            journal = self.journal.log
            assert isinstance(journal, MemoryLog)
            self.session.entry_written(journal.records[-1])
        else:
            super()._wait_gate(line)
        self.adapter.apply_deferred()

    def _log_fault(self, kind: str, crashpoint: str | None, target: str, attempt: int,
                   key: str, process: str) -> None:
        self._landing = crashpoint
        super()._log_fault(kind, crashpoint, target, attempt, key, process)

    def _die(self) -> None:
        worker = _worker()
        point = self._landing or worker.at
        worker.events.append(("crash", worker.owner, point, worker.name))
        worker.sim.cover(worker, point, "armed_kill")
        raise SimulatedKill(worker.owner, point)


class SimReferenceAdapter(ReferenceAdapter):
    """``--engine reference --tier sim``: seeded, single-threaded, no services."""

    runs_in_memory = True
    """The runner may use the in-memory path (``harness.sim_fast``): no files, no threads."""

    def __init__(self, workers: int = 2, seed: int | None = None,
                 max_steps: int = DEFAULT_MAX_STEPS) -> None:
        super().__init__("sim", workers)
        self.seed_override = seed
        self.seed: int | None = None
        self.max_steps = max_steps
        self.sim: Simulation | None = None
        self.digest: str | None = None
        self.coverage_counts: dict[tuple[str, str, str], int] = {}
        self._thread = threading.get_ident()
        self._deferred: list[Callable[[Simulation], Any]] = []
        self._lock = threading.Lock()
        self.deferring = False  # set by SyncNemesis while it handles an entry
        self._runtime: SimBodyRuntime | None = None
        self._converted: dict[int, tuple[Any, Any]] = {}  # see ``_outputs``

    # ------------------------------------------------------------------ lifecycle
    def open(self, session: Session) -> None:
        self.session = session
        self._converted = {}
        self.types = register(session.scenario)
        self.seed = (self.seed_override if self.seed_override is not None
                     else scenario_seed(session.scenario))
        self.sim = Simulation(self.seed, self.workers,
                              step_kind=step_kind_table(session.scenario),
                              **self.simulation_options())
        self.engine = self.sim  # type: ignore[assignment]  # the Engine vocabulary, duck-typed
        self._launches = session.open_log(session.workdir / LAUNCHES_FILE)
        self._thread = threading.get_ident()
        self._runtime = SimBodyRuntime(session, self)
        BodyRuntime.install(self._runtime)

    def simulation_options(self) -> dict[str, Any]:
        """Extra ``Simulation`` arguments; none here. A hook for subclasses that run a
        modified engine in-process (``broken_reference_sim`` passes its own store)."""
        return {}

    def close(self) -> None:
        """Keep the digest and coverage (reports read them after the run), then free."""
        sim, self.sim, self.engine = self.sim, None, None
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            BodyRuntime.install(None)
        try:
            if sim is not None:
                self.digest = sim.digest
                self.coverage_counts = dict(sim.coverage.counts)
                sim.close()
        finally:
            if runtime is not None:
                for log in (runtime.journal, runtime.begins, runtime.faults):
                    log.close()
            if self._launches is not None:
                self._launches.close()
                self._launches = None

    def _sim(self) -> Simulation:
        if self.sim is None:
            raise RuntimeError("SimReferenceAdapter used before open() or after close()")
        return self.sim

    # ------------------------------------------------------------------ the plan
    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        sim = self._sim()
        assert self.types is not None
        type_string = self.types.workflows[workflow]
        values = {name: to_engine(value) for name, value in inputs.items()}
        problems = check_inputs(type_string, values)
        if problems:
            raise ValueError(f"launch {label}: {'; '.join(problems)}")
        return self._remember(label, sim.launch(type_string, f"{label}@{workflow}", values))

    def wait(self, handle: Handle, timeout: float) -> str | None:
        """Run until no task is left; the step budget, not ``timeout``, bounds it."""
        sim = self._sim()
        sim.run_until_quiet(self.max_steps)
        record = sim.get(int(handle.id))
        return record.state if record.is_terminal else None

    def kill_process(self, handle: Handle) -> None:
        pid = int(handle.id)
        self._now_or_deferred(lambda sim: sim.kill(pid))

    # ------------------------------------------------------------------ faults
    def disarm_all(self) -> None:
        super().disarm_all()
        self._sim().heal()

    def kill_worker(self, pid: int | None = None) -> int:
        """From the nemesis: the body that wrote the entry dies at its next switch point."""
        sim = self._sim()
        if (self.deferring or threading.get_ident() != self._thread
                or _current_worker.get() is not None):
            self._defer(lambda s: s.queue_fault("kill"))
            return pid if pid is not None else 0
        owners = sim.workers
        owner = f"w{pid}"
        return int(sim.kill_worker(owners.index(owner) if owner in owners else None)[1:])

    def expire_lease(self, worker: int) -> str | None:
        """Queued for the body that wrote the entry; who takes over is known later (None)."""
        self._now_or_deferred(lambda sim: sim.queue_takeover("lease_expiry"))
        return None

    def duplicate_delivery(self, worker: int) -> str | None:
        self._now_or_deferred(lambda sim: sim.queue_takeover("duplicate_delivery"))
        return None

    def restart_broker(self, hard: bool) -> None:
        self._fault("restart_broker")

    def restart_database(self) -> None:
        self._fault("restart_database")

    def drop_connection(self) -> None:
        self._fault("drop_connection")

    def _fault(self, operation: str, **options: Any) -> None:
        kind = _KIND_OF_FAULT[operation]
        self._now_or_deferred(lambda sim: sim.queue_fault(kind))

    def _now_or_deferred(self, action: Callable[[Simulation], Any]) -> None:
        """Apply on the simulation's thread; from the nemesis thread, let the body do it."""
        if threading.get_ident() == self._thread and not self.deferring:
            action(self._sim())
        else:
            self._defer(action)

    def _defer(self, action: Callable[[Simulation], Any]) -> None:
        with self._lock:
            self._deferred.append(action)

    def apply_deferred(self) -> None:
        """Called by the body after the gate opened: the nemesis's requests, in order."""
        with self._lock:
            todo, self._deferred = self._deferred, []
        for action in todo:
            action(self._sim())

    # ------------------------------------------------------------------ views
    def observe(self) -> Observation:
        """As the embedded tier's, from the simulation's summaries: the records without
        their inputs, which no view shows (decoding them was most of an observation)."""
        return Observation(tuple(self._view(r) for r in self._sim().list_summaries()))

    def _outputs(self, record: Any) -> Any:
        """Converted once per write: the store gives a process's unchanged outputs as the
        same object at every observation (``SimStore.list_summaries``)."""
        raw = record.outputs
        seen = self._converted.get(record.id)
        if seen is None or seen[0] is not raw:
            seen = self._converted[record.id] = (raw, super()._outputs(record))
        return seen[1]

    def ownership(self) -> tuple[Ownership, ...]:
        """Every claim and every commit (accepted or refused) with its version, in the
        simulation's order (one thread: the order of the store's transactions)."""
        out = []
        for event in self._sim().events:
            if event[0] == "claim":
                _, owner, pid, _task, _attempt, version, _ticks = event
                out.append(Ownership(str(pid), "claim", owner, version))
            elif event[0] == "write" and event[2] != "drop_task":
                _, owner, method, pid, version, ok = event
                out.append(Ownership(str(pid), "commit", owner, version, bool(ok), method))
        return tuple(out)

    def diagnose(self, handle: Handle) -> str:
        said = super().diagnose(handle)
        if self.sim is None:
            return said
        return said.replace("live workers: []", f"live workers: {list(self.sim.workers)}")
