"""A simulated worker: the real executor in a greenlet that yields at every switch point.

The worker runs ``reference_engine.runtime.executor.execute`` unchanged, so the sim tier
checks the same code the embedded and real tiers run. It yields to the scheduler (the
"hub" greenlet) at each switch point and obeys the command it gets back:

- at every crashpoint (``SimCrashPlan.hit``), then armed faults fire as in a real worker;
- before every store write (through ``WorkerStore``) and before every claim
  (``between_tasks``, in the worker loop), both in ``SimWorker.call``, which is also
  where a database restart makes a call fail, before or after its commit.

Why greenlets: the executor is plain synchronous code; a greenlet suspends it anywhere
for about a microsecond, where a thread hand-off costs fifty.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from greenlet import getcurrent, greenlet

from reference_engine.core.caching import CachingConfig, SourceCandidate
from reference_engine.core.interpreter import Transition
from reference_engine.core.values import JsonValue
from reference_engine.crashpoints import CrashPlan
from reference_engine.runtime.executor import execute
from reference_engine.sim.faults import SimulatedDatabaseError, SimulatedKill
from reference_engine.sim.history import Event, set_current_worker
from reference_engine.storage.records import ClaimedTask

if TYPE_CHECKING:
    from reference_engine.sim.simulation import Simulation

GO, KILL, DB_BEFORE, DB_AFTER, RETIRE = 0, 1, 2, 3, 4
BETWEEN_TASKS = "between_tasks"
BUSY = -1  # idle_epoch of a worker that has work (or has not looked yet)
POOL_MAX = 16  # parked greenlets kept per thread for the next workers

_local = threading.local()  # per thread: greenlets cannot switch across threads


class _Retire(BaseException):  # a signal, like GreenletExit
    """Thrown by ``SimWorker.retire``: unwinds a live worker so its greenlet can be reused."""


def _free_greenlets() -> list[greenlet]:
    pool: list[greenlet] | None = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = []
    return pool


def _serve() -> None:
    """Body of a pooled greenlet: run one worker incarnation after another.

    Why a pool: setting up and tearing down a greenlet's stack costs more than a dozen
    switches, and every simulated run starts and ends one per worker. The worker comes
    through ``_local.handoff``, not as an argument: a greenlet keeps its first call's
    arguments alive for as long as it runs, which would pin that worker's simulation.
    """
    current = getcurrent()
    while True:
        worker: SimWorker | None = getattr(_local, "handoff", None)
        _local.handoff = None
        if worker is None:
            return
        try:
            worker.ended = worker.run()
        except _Retire:
            worker.ended = ("retired", worker.at)
        worker.sim.died.append(worker)  # the hub buries it (it may not be the one it ran)
        del worker.store  # breaks the worker <-> WorkerStore cycle (see Simulation.close)
        worker = None  # a parked greenlet must not keep its last simulation alive
        set_current_worker(None)
        pool = _free_greenlets()
        if len(pool) >= POOL_MAX:
            return
        pool.append(current)
        current.parent.switch()  # parked until ``SimWorker.start`` hands over a worker


class SimWorker:
    """One simulated worker incarnation; a kill ends it and the hub spawns a new owner."""

    __slots__ = ("at", "claimed", "ended", "events", "greenlet", "hub", "idle_epoch", "name",
                 "owner", "retiring", "sim", "store")

    def __init__(self, sim: Simulation, owner: str, hub: greenlet) -> None:
        self.sim = sim
        self.owner = owner
        self.hub = hub
        self.events: list[Event] = sim.events
        self.store = WorkerStore(self, sim.store)
        self.at = BETWEEN_TASKS
        self.name: str | None = None
        self.claimed: ClaimedTask | None = None
        self.idle_epoch = BUSY
        self.ended: tuple[str, str] | None = None  # why it ended, once it has
        self.retiring = False  # ``retire`` asked an idle worker to return from its loop
        self.greenlet: greenlet | None = None

    def start(self) -> None:
        """Run on a pooled (or new) greenlet up to the first switch point."""
        pool = _free_greenlets()
        self.greenlet = pool.pop() if pool else greenlet(_serve)
        self.greenlet.parent = self.hub
        _local.handoff = self
        self.greenlet.switch()

    def retire(self) -> None:
        """Unwind a live worker where it stands (closing the simulation).

        A greenlet that an exception already ended (Ctrl-C raised inside a body ends it
        and reaches the hub) has nothing to unwind, and throwing into a dead greenlet
        raises in the caller: ``_Retire`` would replace the KeyboardInterrupt the CLI
        turns into "interrupted", exit 130.
        """
        if self.ended is None and self.greenlet is not None and not self.greenlet.dead:
            if self.at == BETWEEN_TASKS and self.claimed is None:
                # Idle at its claim, as nearly every worker is at the end of a run: it
                # returns through its loop, four times cheaper than unwinding by throw.
                self.retiring = True
                self.greenlet.switch(RETIRE)
            else:
                self.greenlet.throw(_Retire)

    # ------------------------------------------------------------------ switching
    def pause(self, point: str, name: str | None = None) -> int:
        """Yield at ``point``; die here if told to, else return the command received.

        In the main loop the worker takes the next scheduling decision itself (the same
        random draws the hub would make, so the same history): chosen again without a
        fault, it continues at once; another worker chosen without a fault, it switches
        to that worker directly; anything else (a fault, nobody runnable) it leaves to
        the hub. Why: two of three switch points then cost no greenlet switch at all,
        and the rest one instead of two.
        """
        self.at, self.name = point, name
        sim = self.sim
        command: int
        if sim.queued:  # a body asked for a fault: it lands here, at this worker
            sim.yielder = self
            command = self.hub.switch()
        elif sim.fast and sim._steps_left > 0:
            # ``Simulation.decide`` inlined (keep the two in step): this runs at every
            # step, and the call and its result tuple cost as much as the decision.
            if sim.epoch != sim._runnable_epoch or sim.roster != sim._runnable_roster:
                sim._refresh_runnable()
            runnable = sim._runnable
            count = len(runnable)
            chosen = runnable[int(sim._random() * count)] if count > 1 else (
                runnable[0] if count else None)
            if chosen is not None and sim._faults_left:
                draw = sim._random()
                if draw < sim._fault_total:
                    sim._pending = (chosen, draw)  # the hub applies (and counts) it
                    chosen = None
            elif chosen is None:
                sim._pending = None  # nobody runnable: the hub finds out why
            if chosen is None:
                command = self.hub.switch()
            else:
                sim._steps_left -= 1
                sim.ticks += 1
                sim.steps += 1
                if chosen is self:
                    return GO
                command = chosen.greenlet.switch(GO)  # type: ignore[union-attr]  # set at spawn
        else:
            command = self.hub.switch()
        if command == KILL:
            raise SimulatedKill(self.owner, point)
        return command

    def call(self, point: str, method: Callable[..., Any], *args: Any) -> Any:
        """A store transaction behind a switch point; a database restart cuts it here."""
        command = self.pause(point)
        if command == DB_BEFORE:
            self.events.append(("lost", self.owner, point, False))
            raise SimulatedDatabaseError(self.owner, point, committed=False)
        if command == RETIRE:  # sent by ``retire`` only, to a worker idle at its claim
            return None
        result = method(*args)
        if command == DB_AFTER:
            self.events.append(("lost", self.owner, point, True))
            raise SimulatedDatabaseError(self.owner, point, committed=True)
        return result

    def die(self) -> None:
        raise SimulatedKill(self.owner, self.at)

    def on_fire(self, crashpoint: str, name: str) -> None:
        """An armed crashpoint fired: log it durably first, as a real worker does."""
        self.events.append(("crash", self.owner, crashpoint, name))
        pid = self.claimed.process.id if self.claimed is not None else -1
        self.sim.store.record_crash(self.owner, pid, crashpoint, name)
        self.sim.cover(self, crashpoint, "armed_kill")

    # ------------------------------------------------------------------ the loop
    def run(self) -> tuple[str, str]:
        """The worker's life: returns why it ended (it never ends otherwise)."""
        set_current_worker(self)
        try:
            self._loop()
        except SimulatedKill:
            return ("killed", self.at)
        except SimulatedDatabaseError:
            return ("db_error", self.at)
        except Exception as exc:  # an engine bug: a real worker would crash the same way
            return ("crashed", f"{type(exc).__name__}: {exc}")
        return ("retired", self.at)  # the loop returns only when ``retire`` asks it to

    def _loop(self) -> None:
        sim, store, events = self.sim, self.store, self.events
        plan = SimCrashPlan((), self.on_fire, self.die, self)
        claim, call = sim.store.claim, self.call  # a claim: ``call`` at between_tasks
        while True:
            claimed = call(BETWEEN_TASKS, claim, self.owner, sim.lease_seconds)
            if claimed is None:
                if self.retiring:
                    return
                self.idle_epoch = sim.epoch
                sim.roster += 1
                continue
            if self.idle_epoch != BUSY:
                self.idle_epoch = BUSY
                sim.roster += 1
            elif sim.stalled:  # a held worker waits for this claim (``queue_takeover``)
                sim.roster += 1
            self.claimed = claimed
            process = claimed.process
            events.append(("claim", self.owner, process.id, claimed.task_id, claimed.attempt,
                           process.version, sim.ticks))
            armed = tuple(sim.store.armed())  # reloaded per task, as a real worker does
            if armed != plan.armed:
                plan = SimCrashPlan(armed, self.on_fire, self.die, self)
            execute(store, claimed, plan)  # type: ignore[arg-type]  # WorkerStore: Store's API
            self.claimed = None


@dataclass(frozen=True)
class SimCrashPlan(CrashPlan):
    """Every crashpoint is a switch point; armed ones then fire exactly as in ``CrashPlan``."""

    worker: SimWorker | None = None

    def hit(self, crashpoint: str, names: Sequence[str], attempt: int) -> None:
        if self.worker is not None:
            self.worker.pause(crashpoint, names[0])
        if self.armed:
            CrashPlan.hit(self, crashpoint, names, attempt)


class WorkerStore:
    """The store as the executor sees it in a worker: writes sit behind switch points.

    Reads pass straight through: the switch point before them (a crashpoint) already
    lets any other worker's commits land first, so a switch there adds no interleaving.
    """

    __slots__ = ("_store", "_w")

    def __init__(self, worker: SimWorker, store: Any) -> None:
        self._w = worker
        self._store = store

    def _write(self, method: str, claimed: ClaimedTask, *args: Any) -> Any:
        w = self._w
        ok = w.call("store:" + method, getattr(self._store, method), claimed, *args)
        w.events.append(("write", w.owner, method, claimed.process.id, claimed.process.version,
                         ok is not False))
        return ok

    def commit_transition(self, claimed: ClaimedTask, transition: Transition,
                          child_kinds: dict[str, str], refuse: bool = False) -> bool:
        args = (transition, child_kinds, True) if refuse else (transition, child_kinds)
        return bool(self._write("commit_transition", claimed, *args))

    def finish_calculation(self, claimed: ClaimedTask, *args: Any, **kwargs: Any) -> bool:
        if kwargs:
            args = _finish_args(*args, **kwargs)
        return bool(self._write("finish_calculation", claimed, *args))

    def except_process(self, claimed: ClaimedTask, message: str, exception: str,
                       refuse: bool = False) -> bool:
        if refuse:
            return bool(self._write("except_process", claimed, message, exception, refuse))
        return bool(self._write("except_process", claimed, message, exception))

    def drop_task(self, claimed: ClaimedTask) -> None:
        self._write("drop_task", claimed)

    def release_task(self, claimed: ClaimedTask) -> bool:
        return bool(self._write("release_task", claimed))

    def note(self, pid: int, what: str, worker: str | None) -> None:
        self._store.note(pid, what, worker)  # a log line, as ``record_crash``: no switch

    def views(self, ids: Any) -> dict[int, dict[str, JsonValue]]:
        return self._store.views(ids)  # type: ignore[no-any-return]

    def caching_config(self) -> CachingConfig:
        return self._store.caching_config()  # type: ignore[no-any-return]

    def still_holds(self, claimed: ClaimedTask) -> bool:
        return self._store.still_holds(claimed)  # type: ignore[no-any-return]

    def cache_candidates(self, calc_hash: str, exclude: int) -> list[SourceCandidate]:
        return self._store.cache_candidates(calc_hash, exclude)  # type: ignore[no-any-return]


def _finish_args(
    outputs: dict[str, JsonValue],
    exit_status: int,
    calc_hash: str | None,
    exit_invalidates_cache: bool = False,
    cached_from: int | None = None,
    message: str = "",
    refuse: bool = False,
) -> tuple[Any, ...]:
    """``finish_calculation``'s keyword arguments as positions (``call`` passes *args)."""
    if refuse:  # only then: store subclasses of broken variants may not take it
        return (outputs, exit_status, calc_hash, exit_invalidates_cache, cached_from,
                message, refuse)
    return (outputs, exit_status, calc_hash, exit_invalidates_cache, cached_from, message)
