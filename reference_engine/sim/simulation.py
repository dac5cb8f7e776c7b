"""``Simulation``: the reference engine's deterministic simulation tier.

One seeded ``random.Random`` decides everything that is left to chance in the embedded
runtime: which worker runs next, and whether a fault lands at the switch point where the
worker stands (see ``faults``). Time is virtual (one millisecond per scheduling step),
so leases expire only when the scheduler says so. With the same seed, workload and API
calls, two runs produce the same history and ``digest``.

The workers are greenlets running the real executor (``worker``); the store is
``SimStore`` (default) or the real ``Store`` on an in-memory SQLite database
(``store="sqlite"``, about fifty times slower, same histories). A dead worker's leases are
released at once (as the embedded daemon does) and a new worker takes its place.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent

from reference_engine.core.values import dumps
from reference_engine.sim.coverage import KillCoverage
from reference_engine.sim.facade import EngineFacade
from reference_engine.sim.faults import (
    BROKER_RESTART,
    DB_RESTART,
    DUPLICATE_DELIVERY,
    KILL,
    LEASE_EXPIRY,
    RANDOM_FAULT_KINDS,
    FaultRates,
    InvalidSimulationArgumentError,
)
from reference_engine.sim.history import Event, digest, effect_counts
from reference_engine.sim.store import SimStore
from reference_engine.sim.worker import BETWEEN_TASKS, BUSY, DB_AFTER, DB_BEFORE, GO, SimWorker
from reference_engine.sim.worker import KILL as KILL_COMMAND
from reference_engine.storage.records import ProcessRecord

StepKindOf = Callable[[ProcessRecord | None, str | None], str]
StoreFactory = Callable[[Callable[[], float]], Any]  # clock -> an object with Store's API
STORES = ("memory", "sqlite")
UNDECIDED: Any = object()
TAKEOVER = "takeover:"  # prefix of a queued ``queue_takeover`` fault
MAX_WORKERS = 64


def default_step_kind(process: ProcessRecord | None, step: str | None) -> str:
    """Coverage's step kind: ``calculation``, ``workflow_step`` or ``idle`` (no task)."""
    if process is None:
        return "idle"
    return "calculation" if process.kind == "calculation" else "workflow_step"


class Simulation(EngineFacade):
    """A seeded, single-threaded run of the reference engine with simulated faults.

    Drive it from one greenlet (normally the main one): ``submit`` work, optionally
    ``arm`` crashpoints or inject faults by hand, then ``run_until_quiet``. Close it
    (``with Simulation(...) as sim``): its suspended workers are greenlets, which the
    cycle collector cannot see, so an unclosed simulation with work in flight is never
    freed.
    """

    def __init__(
        self,
        seed: int,
        workers: int = 2,
        faults: FaultRates | None = None,
        *,
        store: str | StoreFactory = "memory",
        lease_seconds: float = 60.0,
        release_on_death: bool = True,
        step_kind: StepKindOf = default_step_kind,
    ) -> None:
        _check_arguments(seed, workers, faults, store, lease_seconds)
        self.seed = seed
        self.rates = faults if faults is not None else FaultRates.none()
        self.lease_seconds = float(lease_seconds)
        self.release_on_death = release_on_death
        self.step_kind = step_kind
        self.ticks = 0  # virtual milliseconds
        self.epoch = 0  # bumped by every change that can make a task claimable
        self.roster = 0  # bumped when a worker goes idle, gets busy, dies or is spawned
        self._runnable: list[SimWorker] = []
        self._runnable_epoch = self._runnable_roster = -1
        self.steps = 0
        self.events: list[Event] = []
        self.coverage = KillCoverage()
        self.crashes: list[tuple[str, str]] = []  # (owner, error) of workers that crashed
        self.died: list[SimWorker] = []  # ended workers not yet buried
        self.queued: list[str] = []  # faults asked for by ``queue_fault``
        # Workers held at a switch point until another worker claims their process:
        # worker -> (process id, index in ``events`` when the hold began).
        self.stalled: dict[SimWorker, tuple[int, int]] = {}
        self.yielder: SimWorker | None = None  # the worker that yielded for them
        self._rng = random.Random(seed)
        self._random = self._rng.random
        self._fault_total = self.rates.total
        self._steps_left = 0  # > 0 only inside run_until_quiet
        self._pending: Any = UNDECIDED  # a decision a worker took and left to the hub
        self.fast = False
        self._faults_left = self.rates.max_faults if self.rates.total > 0 else 0
        self._spawned = 0
        self._hub = getcurrent()
        super().__init__(_open_store(store, self._clock))
        self.store.on_ready = self._on_ready
        self._workers = [self._spawn() for _ in range(workers)]
        self.roster += 1

    def _clock(self) -> float:
        return self.ticks / 1000.0

    def _on_ready(self, process_ids: list[int]) -> None:
        """The store made tasks claimable: idle workers look again (no wasted polls)."""
        self.epoch += 1

    # ------------------------------------------------------------------ results
    @property
    def history(self) -> tuple[Event, ...]:
        return tuple(self.events)

    @property
    def digest(self) -> str:
        """sha256 of the history and the final table of processes (see ``history.digest``)."""
        return digest([*self.events, *self.snapshot()])

    def snapshot(self) -> list[Event]:
        """Each process's id, type, label, state, exit status, outputs and links."""
        fast = getattr(self.store, "final_rows", None)
        if fast is not None:
            return fast()  # type: ignore[no-any-return]  # SimStore: same rows, no records
        return [
            ("final", p.id, p.type, p.label, p.state, p.exit_status,
             None if p.outputs is None else dumps(p.outputs), p.cached_from, p.parent_id,
             p.restart_of)
            for p in self.store.list_processes()
        ]

    def effect_counts(self) -> dict[tuple[int, str], int]:
        return dict(effect_counts(self.events))

    @property
    def workers(self) -> tuple[str, ...]:
        """Owners of the live workers, in scheduling order."""
        return tuple(w.owner for w in self._workers)

    # ------------------------------------------------------------------ running
    def run_until_quiet(self, max_steps: int = 100_000) -> bool:
        """Schedule until no task is left (True) or ``max_steps`` steps ran (False).

        A step is one scheduling decision: which runnable worker continues from its
        switch point, and whether a fault lands there. A worker that is chosen again at
        its own switch point just continues (``SimWorker.pause``): same decisions, same
        history, without the two greenlet switches.
        """
        self._steps_left = max_steps
        try:
            while self._steps_left > 0:
                if self.queued:
                    self._apply_queued()
                decision = self._pending
                self._pending = UNDECIDED
                if decision is UNDECIDED:
                    decision = self.decide()
                self._steps_left -= 1
                if decision is None:
                    if not self._all_idle():
                        return True
                    continue
                self._apply(*decision)
            return False
        finally:
            self._steps_left = 0
            self._pending = UNDECIDED

    def queue_fault(self, kind: str) -> None:
        """Land a fault at the next switch point of the worker running now.

        For bodies and their journals: a body that writes journal entry k can ask for
        "kill this worker" or "restart the broker" right there; the fault lands at the
        worker's next switch point (after its effect, before its checkpoint), as a
        harness's nemesis gate makes it land on a real engine. Outside a worker it lands
        on a seeded worker at the next step of ``run_until_quiet``.
        """
        if kind not in RANDOM_FAULT_KINDS:
            raise InvalidSimulationArgumentError(
                "kind", kind, f"one of {', '.join(RANDOM_FAULT_KINDS)}")
        self.queued.append(kind)

    def queue_takeover(self, kind: str) -> None:
        """Redeliver the running worker's task to another worker while it lives.

        At its next switch point (as ``queue_fault``) its lease is released
        (``duplicate_delivery``) or runs out (``lease_expiry``), and it is then held
        there, a frozen worker, until another worker has claimed its process (or no
        other worker can run). So its commit, if any, follows the takeover, and the
        version fence must refuse it: the deterministic form of the random faults of the
        same names, for scenarios that must exercise a stale commit.
        """
        if kind not in (DUPLICATE_DELIVERY, LEASE_EXPIRY):
            raise InvalidSimulationArgumentError(
                "kind", kind, f"{DUPLICATE_DELIVERY} or {LEASE_EXPIRY}")
        self.queued.append(TAKEOVER + kind)

    def _apply_queued(self) -> None:
        worker, self.yielder = self.yielder, None
        if worker is None or worker not in self._workers:
            worker = self._worker(None)
        index = self._workers.index(worker)
        while self.queued:
            kind = self.queued.pop(0)
            if kind.startswith(TAKEOVER):
                self._take_over(worker, kind[len(TAKEOVER):])
            elif kind == KILL and worker in self._workers:
                self.kill_worker(index)
            elif kind == DUPLICATE_DELIVERY and worker in self._workers:
                self.duplicate_delivery(index)
            elif kind == LEASE_EXPIRY:
                self._note_fault(LEASE_EXPIRY, None)
                self.expire_leases()
            elif kind == DB_RESTART:
                self.restart_database()
            elif kind == BROKER_RESTART:
                self.restart_broker()

    def _take_over(self, worker: SimWorker, kind: str) -> None:
        if worker not in self._workers or worker.claimed is None:
            self._note_fault(kind, worker)  # nothing delivered: nothing to take over
            return
        if kind == DUPLICATE_DELIVERY:
            self.duplicate_delivery(self._workers.index(worker))
        else:
            self._note_fault(LEASE_EXPIRY, worker)
            self.expire_leases()
        self.stalled[worker] = (worker.claimed.process.id, len(self.events))
        self.roster += 1

    def _release_stalled(self, others_runnable: bool) -> None:
        """End the holds whose process another worker claimed, or all if nobody else
        can run (then no one could take over, and holding on would hang the run)."""
        events = self.events
        for worker, (pid, since) in list(self.stalled.items()):
            taken = any(e[0] == "claim" and e[2] == pid and e[1] != worker.owner
                        for e in events[since:])
            if taken or not others_runnable or worker not in self._workers:
                del self.stalled[worker]

    def heal(self) -> None:
        """No more random faults from now on (armed crashpoints still fire)."""
        self._faults_left = 0

    def decide(self) -> tuple[SimWorker, float | None] | None:
        """The next step: a runnable worker and a fault draw (None: no fault); None if idle.

        ``SimWorker.pause`` makes the same decision inline: change both together.
        """
        if self.epoch != self._runnable_epoch or self.roster != self._runnable_roster:
            self._refresh_runnable()  # most steps: the same workers as the last one
        runnable = self._runnable
        count = len(runnable)
        if not count:
            return None
        worker = runnable[int(self._random() * count)] if count > 1 else runnable[0]
        if self._faults_left:
            draw = self._random()
            if draw < self._fault_total:
                return worker, draw
        return worker, None

    def _refresh_runnable(self) -> None:
        """The workers that may run: busy ones, and idle ones since the epoch changed."""
        epoch = self._runnable_epoch = self.epoch
        self._runnable_roster = self.roster
        self._runnable = [w for w in self._workers if w.idle_epoch != epoch]
        if self.stalled:  # only after a takeover fault: held workers wait their turn
            self._release_stalled(any(w not in self.stalled for w in self._runnable))
            self._runnable = [w for w in self._runnable if w not in self.stalled]

    def _apply(self, worker: SimWorker, draw: float | None) -> None:
        command: int | None = GO if draw is None else self._inject(worker, draw)
        self.ticks += 1
        self.steps += 1
        if command is not None:
            self._resume(worker, command, fast=True)

    def _all_idle(self) -> bool:
        """Every worker found nothing: done, unless tasks wait for an expired lease."""
        if self.store.task_count() == 0:
            return False
        self.expire_leases()  # leases of owners gone without release (release_on_death off)
        return True

    def _spawn(self) -> SimWorker:
        self._spawned += 1
        worker = SimWorker(self, f"w{self._spawned}", self._hub)
        self.events.append(("spawn", worker.owner))
        worker.start()  # run to its first switch point
        return worker

    def _resume(self, worker: SimWorker, command: int, fast: bool = False) -> None:
        """Run ``worker`` to its next switch point (or death). ``fast``: it may decide
        further steps itself; only the main loop allows that, never a spawn or a fault."""
        self.fast = fast
        worker.greenlet.switch(command)  # type: ignore[union-attr]  # started at spawn
        self.fast = False
        # Control comes back here when any worker yields to the hub or ends: in the
        # main loop, workers hand over to each other directly (``SimWorker.pause``).
        while self.died:
            dead = self.died.pop(0)
            if dead in self._workers:
                self._bury(dead, dead.ended)  # type: ignore[arg-type]  # ended is set

    def _bury(self, worker: SimWorker, result: tuple[str, str]) -> None:
        reason, detail = result
        self.events.append(("death", worker.owner, reason, worker.at))
        if reason == "crashed":
            self.crashes.append((worker.owner, detail))
        if self.release_on_death:
            self.store.release_owner(worker.owner)
        self.epoch += 1
        self._workers[self._workers.index(worker)] = self._spawn()
        self.roster += 1

    # ------------------------------------------------------------------ faults
    def _inject(self, worker: SimWorker, draw: float) -> int | None:
        """Apply the drawn fault at ``worker``'s switch point; the command to resume with."""
        kind = self.rates.pick(draw)
        if kind == KILL:
            self._faults_left -= 1
            self._note_fault(KILL, worker)
            return KILL_COMMAND
        if kind == DB_RESTART:
            self._faults_left -= 1
            self.restart_database()
            return GO if worker in self._workers else None
        holders = [w for w in self._workers if w.claimed is not None]
        if not holders or (kind == DUPLICATE_DELIVERY and worker.claimed is None):
            return GO  # nothing is delivered: this fault would be a no-op, keep the budget
        self._faults_left -= 1
        if kind == DUPLICATE_DELIVERY:
            self.duplicate_delivery(self._workers.index(worker))
        elif kind == LEASE_EXPIRY:
            self._note_fault(LEASE_EXPIRY, worker)
            self.expire_leases()
        else:
            self.restart_broker()
        return GO

    def _note_fault(self, kind: str, worker: SimWorker | None) -> None:
        if worker is None:
            self.events.append(("fault", kind, None, None))
            return
        self.events.append(("fault", kind, worker.owner, worker.at))
        self.cover(worker, worker.at, kind)

    def cover(self, worker: SimWorker, point: str, fault_kind: str) -> None:
        """Count a fault landing at ``point`` in coverage, with the kind of the step."""
        claimed = worker.claimed
        if claimed is None:
            self.coverage.record(point, self.step_kind(None, None), fault_kind)
            return
        process, step = claimed.process, None
        name = worker.name or ""
        if process.kind == "workflow" and name.startswith(process.label + "."):
            step = name[len(process.label) + 1:]
        self.coverage.record(point, self.step_kind(process, step), fault_kind)

    def kill_worker(self, index: int | None = None) -> str:
        """Kill one worker now, where it stands; returns its owner. Seeded if no index."""
        worker = self._worker(index)
        self._note_fault(KILL, worker)
        self._resume(worker, KILL_COMMAND)
        return worker.owner

    def duplicate_delivery(self, index: int | None = None) -> str:
        """Release one worker's lease while it keeps running: its task can be claimed twice."""
        worker = self._worker(index)
        self._note_fault(DUPLICATE_DELIVERY, worker)
        self.store.release_owner(worker.owner)
        self.epoch += 1
        return worker.owner

    def expire_leases(self) -> None:
        """Jump virtual time past every lease; holders keep running, fenced if overtaken."""
        self.ticks += int(self.lease_seconds * 1000) + 1
        self.epoch += 1
        self.events.append(("expired", self.ticks))

    def restart_broker(self) -> None:
        """Every unacknowledged delivery returns (all leases released); holders continue."""
        self._note_fault(BROKER_RESTART, None)
        for worker in self._workers:
            if worker.claimed is not None:
                self.cover(worker, worker.at, BROKER_RESTART)
        for number in range(1, self._spawned + 1):
            self.store.release_owner(f"w{number}")
        self.epoch += 1

    def restart_database(self) -> None:
        """Store calls in flight fail, before or after their commit; their workers die."""
        self._note_fault(DB_RESTART, None)
        in_flight = [
            w for w in self._workers
            if (w.at == BETWEEN_TASKS and w.idle_epoch == BUSY) or w.at.startswith("store:")
        ]
        for worker in in_flight:
            if self._rng.random() < 0.5:
                continue  # this worker's transaction was not open at the restart
            self.cover(worker, worker.at, DB_RESTART)
            self._resume(worker, DB_BEFORE if self._rng.random() < 0.5 else DB_AFTER)
        self.epoch += 1

    def _worker(self, index: int | None) -> SimWorker:
        if index is None:
            return self._workers[self._rng.randrange(len(self._workers))]
        if type(index) is not int or not 0 <= index < len(self._workers):
            raise InvalidSimulationArgumentError(
                "index", index, f"a worker index in 0..{len(self._workers) - 1} or None")
        return self._workers[index]

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Unwind the suspended workers now rather than at garbage collection.

        Then break the reference cycles between the simulation and its store (the clock
        and ``on_ready`` are bound methods) and workers, so a finished run is freed by
        reference counting as soon as it is dropped. Why: left to the cycle collector,
        every run's events, rows and records are traversed by collections and freed
        late, in cold memory; at thousands of runs per second that costs up to a tenth
        of the time. The store keeps answering reads, at the time the simulation stopped.
        """
        for worker in self._workers:
            worker.retire()
        self._workers = []
        self._runnable = []
        self.stalled.clear()
        self.died.clear()
        self.yielder = None
        self.store.on_ready = None
        if getattr(self.store, "clock", None) == self._clock:
            self.store.clock = _stopped_clock(self._clock())
        self.store.close()

    def __enter__(self) -> Simulation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stopped_clock(now: float) -> Callable[[], float]:
    """The clock of a closed simulation: time stands still (and holds no reference to it)."""
    return lambda: now


def _open_store(kind: str | StoreFactory, clock: Callable[[], float]) -> Any:
    if callable(kind):  # e.g. a deliberately broken SimStore, to test the checks
        return kind(clock)
    if kind == "memory":
        return SimStore(clock)
    from reference_engine.storage.store import Store  # SQLAlchemy only when asked for

    return Store("sqlite:///:memory:", clock=clock)


def _check_arguments(seed: object, workers: object, faults: object, store: object,
                     lease_seconds: object) -> None:
    if type(seed) is not int:
        raise InvalidSimulationArgumentError("seed", seed, "an int")
    if type(workers) is not int or not 1 <= workers <= MAX_WORKERS:
        raise InvalidSimulationArgumentError("workers", workers, f"an int in 1..{MAX_WORKERS}")
    if faults is not None and not isinstance(faults, FaultRates):
        raise InvalidSimulationArgumentError("faults", faults, "a FaultRates or None")
    if not callable(store) and store not in STORES:
        raise InvalidSimulationArgumentError(
            "store", store, f"one of {', '.join(STORES)}, or a factory clock -> store")
    if not isinstance(lease_seconds, (int, float)) or not lease_seconds > 0:
        raise InvalidSimulationArgumentError("lease_seconds", lease_seconds, "a number > 0")

