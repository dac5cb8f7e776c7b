"""The ``broken_reference`` variants on the sim tier: each bug patched into one simulation.

``--engine harness.adapters.broken_reference:NAME --tier sim`` gives
``BrokenSimReferenceAdapter``: the sim adapter whose simulation runs the variant's bug,
in this process. The bug is the same code as on the embedded tier, where it can be:

- executor globals (``broken_reference_patches.EXECUTOR_BUGS``): while at least one broken
  simulation is open, each patched global is a dispatcher that runs the broken function
  only inside a worker of a simulation registered for that variant (``current_simulation``)
  and the engine's own function everywhere else; the last ``close`` puts the original
  back. So a correct simulation, before, after or even during a broken one, runs the real
  engine.
- the store (``SIM_STORES``): a ``SimStore`` subclass with the variant's change, passed
  to that simulation alone (``Simulation(store=factory)``), the sim twin of the patches of
  ``Store`` that the workers of the embedded tier apply to themselves.
- the daemon and the adapter (task_lost_on_worker_death, relaunch_reuses_id): on this
  simulation instance and in the adapter class below.

The store subclasses reach into ``SimStore``'s private tables: a deliberate bug needs
the engine's internals; ``tests/harness/test_broken_variants_sim.py`` fails if those move.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from harness.adapter import Handle
from harness.adapters.broken_reference import Variant, variant_named
from harness.adapters.broken_reference_patches import EXECUTOR_BUGS, FOREVER, excepted_hash
from harness.adapters.reference_sim import DEFAULT_MAX_STEPS, SimReferenceAdapter
from harness.session import Session
from reference_engine.runtime import executor
from reference_engine.sim import SimStore, Simulation, current_simulation
from reference_engine.storage.records import TERMINAL_STATES, ClaimedTask, ProcessRecord

__all__ = ["SIM_STORES", "BrokenSimReferenceAdapter", "install"]


# ---------------------------------------------------------------- the store
class AckBeforeCommitStore(SimStore):
    """ack_before_commit: a claim acknowledges its task at once (owner renamed, lease
    forever), so the dead worker's release misses it and nobody can claim it again."""

    def claim(self, owner: str, lease_seconds: float = 60.0) -> ClaimedTask | None:
        return self._acknowledge(super().claim(owner, lease_seconds))

    def claim_process(self, pid: int, owner: str,
                      lease_seconds: float = 60.0) -> ClaimedTask | None:
        return self._acknowledge(super().claim_process(pid, owner, lease_seconds))

    def _acknowledge(self, claimed: ClaimedTask | None) -> ClaimedTask | None:
        if claimed is None:
            return None
        acked = f"{claimed.owner}+acked"
        task = self._tasks[claimed.task_id]
        task.lease_owner, task.lease_expires = acked, FOREVER
        return replace(claimed, owner=acked)


class ExceptedKeepsHashStore(SimStore):
    """excepted_source_hit: an excepted calculation keeps its hash (a candidate source)."""

    def except_process(self, claimed: ClaimedTask, message: str, exception: str,
                       refuse: bool = False) -> bool:
        done = super().except_process(claimed, message, exception, refuse)
        digest = excepted_hash(claimed.process) if done else None
        if digest is not None:
            self._rehash(self._rows[claimed.process.id], digest)
        return done


class UnfencedStore(SimStore):
    """unfenced_duplicate_delivery, stale_commit_after_takeover: commits check neither
    owner nor version (the first variant also delivers every workflow task twice)."""

    def _fence(self, claimed: ClaimedTask) -> bool:
        row = self._rows.get(claimed.process.id)
        return (claimed.task_id in self._tasks and row is not None
                and row.state == "running")


class RequeueingStore(SimStore):
    """relaunch_reuses_id: ``requeue`` resets a terminated process under its old id."""

    def requeue(self, pid: int) -> None:
        row = self._row(pid)
        row.state, row.message, row.exception, row.exit_status = "created", "", None, None
        row.checkpoint, row.outputs, row.outputs_text, row.awaiting = None, None, None, ()
        row.version += 1
        task_id = self._task_of.get(pid)
        if task_id is not None:
            self._delete_task(task_id)
        self._insert_task(pid)
        self._commit()


class LosingStore(SimStore):
    """task_lost_on_worker_death: ``lose_owner`` deletes the tasks an owner held."""

    def lose_owner(self, owner: str) -> int:
        held = [t.id for t in self._tasks.values() if t.lease_owner == owner]
        for task_id in held:
            self._delete_task(task_id)
        return len(held)


class KillsTerminatedStore(SimStore):
    """kill_marks_terminated: a kill request does not check the state, so it marks an
    already terminated process killed as well."""

    def kill(self, pid: int, message: str = "killed by request") -> list[int]:
        row = self._row(pid)
        if row.state not in TERMINAL_STATES:
            return super().kill(pid, message)
        row.state, row.message, row.version = "killed", message, row.version + 1
        row.updated_at = self.clock()
        self._event(pid, "killed", None, row.updated_at)
        self._commit()
        return [pid]


class ResubmitsUnfinishedStore(SimStore):
    """recovery_resubmits_unfinished: when leases are released (broker restart, worker
    death), every top-level process that did not finish and has no task is submitted
    again, excepted and killed ones included (the recovery selects ``state != finished``
    where it should select the active states)."""

    def release_owner(self, owner: str) -> int:
        freed = super().release_owner(owner)
        for pid, row in self._rows.items():
            if row.parent_id is None and row.state in ("excepted", "killed") \
                    and pid not in self._task_of:
                row.state, row.version = "created", row.version + 1
                self._event(pid, "created", None, self.clock())
                self._insert_task(pid)
        self._commit()
        return freed


class SupersedingRelaunchStore(SimStore):
    """relaunch_supersedes_old: a relaunch marks the old process killed ("superseded")."""

    def create_process(self, type_string: str, label: str, kind: str,
                       inputs: dict[str, Any], restart_of: int | None = None) -> int:
        if restart_of is not None:
            old = self._row(restart_of)
            old.state, old.message, old.version = "killed", "superseded", old.version + 1
            self._event(restart_of, "killed", None, self.clock())
        return super().create_process(type_string, label, kind, inputs, restart_of)


class RestartFromCheckpointStore(SimStore):
    """relaunch_from_checkpoint: a relaunch copies the old process's checkpoint, so the new
    instance continues where the old one stopped instead of starting at step one."""

    def create_process(self, type_string: str, label: str, kind: str,
                       inputs: dict[str, Any], restart_of: int | None = None) -> int:
        pid = super().create_process(type_string, label, kind, inputs, restart_of)
        if restart_of is not None:
            self._rows[pid].checkpoint = self._row(restart_of).checkpoint
        return pid


class HitWakesNoParentStore(SimStore):
    """hit_does_not_wake_parent: a calculation finished from the cache does not queue its
    waiting parent's task, so the parent waits for ever with no task."""

    def finish_calculation(self, claimed: ClaimedTask, *args: Any, **kwargs: Any) -> bool:
        cached_from = kwargs.get("cached_from", args[4] if len(args) > 4 else None)
        self._hit = cached_from is not None
        try:
            return super().finish_calculation(claimed, *args, **kwargs)
        finally:
            self._hit = False

    def _wake_parent(self, parent_id: int | None) -> None:
        if not getattr(self, "_hit", False):  # the bug: a hit's finish wakes nobody
            super()._wake_parent(parent_id)


class AwaitedChildrenOnlyStore(SimStore):
    """children_listed_from_checkpoint: a process lists as children only those its latest
    checkpoint awaits, so earlier children name a parent that does not list them."""

    def _load(self, pid: int) -> ProcessRecord:
        record = super()._load(pid)
        record.__dict__["children"] = tuple(self._row(pid).awaiting)
        return record


class SparingKillStore(SimStore):
    """kill_spares_running_children: ``kill`` leaves alone every descendant a worker is
    running (state ``running``): it is not killed, runs on and may finish."""

    def kill(self, pid: int, message: str = "killed by request") -> list[int]:
        spared = [p for p, row in self._rows.items() if p != pid and row.state == "running"]
        for p in spared:  # hidden from kill's walk over active descendants: the bug
            self._rows[p].state = "spared"
        try:
            return super().kill(pid, message)
        finally:
            for p in spared:
                self._rows[p].state = "running"


class ClaimKeepingKillStore(SimStore):
    """kill_keeps_running_claim: a kill marks a running process killed but keeps its
    task and version, and a commit is fenced by owner and version only, so the worker
    that held the task commits its step over the kill and the process runs on."""

    def kill(self, pid: int, message: str = "killed by request") -> list[int]:
        held = {p: (row.version, self._tasks.get(self._task_of.get(p, -1)))
                for p, row in self._rows.items() if row.state == "running"}
        doomed = super().kill(pid, message)
        for victim in doomed:
            if victim in held:
                _keep_claim(self, victim, *held[victim])
        return doomed

    def _fence(self, claimed: ClaimedTask) -> bool:
        task = self._tasks.get(claimed.task_id)
        row = self._rows.get(claimed.process.id)
        return (task is not None and task.lease_owner == claimed.owner
                and row is not None and row.version == claimed.process.version)


def _keep_claim(store: SimStore, pid: int, version: int, task: Any) -> None:
    """Give a killed process back its version and its leased task (the claim stays)."""
    store._rows[pid].version = version
    if task is not None and task.id not in store._tasks:
        store._tasks[task.id] = task
        store._task_of[pid] = task.id
        store._max_task = max(store._max_task, task.id)


class PreviousCheckpointStore(SimStore):
    """resume_from_previous_checkpoint: each commit remembers the checkpoint it replaced;
    a redelivered task (claim attempt > 1) hands the worker that older checkpoint."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(clock)
        self._previous: dict[int, str | None] = {}

    def commit_transition(self, claimed: ClaimedTask, transition: Any,
                          child_kinds: dict[str, str], refuse: bool = False) -> bool:
        before = self._rows[claimed.process.id].checkpoint
        done = super().commit_transition(claimed, transition, child_kinds, refuse)
        if done:
            self._previous[claimed.process.id] = before
        return done

    def _take(self, task: Any, owner: str, lease_seconds: float, now: float) -> ClaimedTask:
        claimed = super()._take(task, owner, lease_seconds, now)
        pid = claimed.process.id
        if claimed.attempt > 1 and pid in self._previous:
            claimed = replace(claimed, process=replace(claimed.process,
                                                       checkpoint=self._previous[pid]))
        return claimed


class ForgetfulStore(SimStore):
    """forgets_killed_calculation: when a worker dies holding a calculation's task, the
    calculation is launched again as a new process (the parent now awaits that one) and
    the killed attempt's record is dropped from every listing."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(clock)
        self._forgotten: set[int] = set()

    def release_owner(self, owner: str) -> int:
        for task in [t for t in self._tasks.values() if t.lease_owner == owner]:
            row = self._rows[task.process_id]
            if row.kind == "calculation" and row.parent_id is not None \
                    and row.state in ("created", "running"):
                self._launch_again(row.id, task.id)
        return super().release_owner(owner)

    def _launch_again(self, pid: int, task_id: int) -> None:
        old = self._rows[pid]
        self._delete_task(task_id)
        new = self._insert_process(old.type, old.label, old.kind, old.inputs, old.parent_id,
                                   old.parent_key)
        self._forgotten.add(pid)
        assert old.parent_id is not None
        self._children[old.parent_id].remove(pid)
        parent = self._rows[old.parent_id]
        parent.awaiting = tuple(new if c == pid else c for c in parent.awaiting)
        if parent.checkpoint:
            data = json.loads(parent.checkpoint)
            data["awaiting"] = {k: new if v == pid else v for k, v in data["awaiting"].items()}
            parent.checkpoint = json.dumps(data)

    def list_processes(self) -> list[Any]:
        return [p for p in super().list_processes() if p.id not in self._forgotten]


SIM_STORES: dict[str, type[SimStore]] = {
    "ack_before_commit": AckBeforeCommitStore,
    "excepted_source_hit": ExceptedKeepsHashStore,
    "unfenced_duplicate_delivery": UnfencedStore,
    "stale_commit_after_takeover": UnfencedStore,
    "relaunch_reuses_id": RequeueingStore,
    "task_lost_on_worker_death": LosingStore,
    "kill_marks_terminated": KillsTerminatedStore,
    "recovery_resubmits_unfinished": ResubmitsUnfinishedStore,
    "relaunch_supersedes_old": SupersedingRelaunchStore,
    "relaunch_from_checkpoint": RestartFromCheckpointStore,
    "hit_does_not_wake_parent": HitWakesNoParentStore,
    "children_listed_from_checkpoint": AwaitedChildrenOnlyStore,
    "kill_spares_running_children": SparingKillStore,
    "kill_keeps_running_claim": ClaimKeepingKillStore,
    "resume_from_previous_checkpoint": PreviousCheckpointStore,
    "forgets_killed_calculation": ForgetfulStore,
}
"""Per variant: the store its simulation runs on (the rest run on ``SimStore``)."""


# ---------------------------------------------------------------- executor globals
class _Dispatch:
    """Stands in for one executor global while broken simulations are open: the broken
    function inside a worker of a simulation registered for its variant, else the original."""

    def __init__(self, attr: str, original: Callable[..., Any]) -> None:
        self.attr = attr
        self.original = original
        self.broken: dict[str, Callable[..., Any]] = {}  # variant -> its function
        self.users = 0

    def __call__(self, *args: Any) -> Any:
        sim = current_simulation()
        variant = _variant_of.get(sim) if sim is not None else None
        function = self.broken.get(variant) if variant is not None else None
        return (function or self.original)(*args)


_lock = threading.Lock()  # install/undo may come from several threads' runs
_variant_of: weakref.WeakKeyDictionary[Simulation, str] = weakref.WeakKeyDictionary()
_dispatchers: dict[str, _Dispatch] = {}  # executor global -> its stand-in, while in use


def install(variant: str, sim: Simulation) -> Callable[[], None]:
    """Give ``sim`` the engine-side bug of ``variant``; returns the undo (call it once)."""
    with _lock:
        _variant_of[sim] = variant
        for attr, make in EXECUTOR_BUGS.get(variant, {}).items():
            dispatch = _dispatchers.get(attr)
            if dispatch is None:
                dispatch = _dispatchers[attr] = _Dispatch(attr, getattr(executor, attr))
                setattr(executor, attr, dispatch)
            if variant not in dispatch.broken:
                dispatch.broken[variant] = make(dispatch.original)
            dispatch.users += 1
    if variant == "task_lost_on_worker_death":
        _lose_tasks_of_the_dead(sim)

    def undo() -> None:
        with _lock:
            _variant_of.pop(sim, None)
            for attr in EXECUTOR_BUGS.get(variant, {}):
                dispatch = _dispatchers[attr]
                dispatch.users -= 1
                if dispatch.users == 0:
                    del _dispatchers[attr]
                    if getattr(executor, attr) is dispatch:
                        setattr(executor, attr, dispatch.original)
        sim.__dict__.pop("_bury", None)

    return undo


def _lose_tasks_of_the_dead(sim: Simulation) -> None:
    """Where the simulation buries a dead worker (and releases its leases, as the
    embedded daemon does), first delete the tasks it held: this simulation only."""
    store = sim.store
    if not isinstance(store, LosingStore):
        raise TypeError(f"task_lost_on_worker_death needs a LosingStore, not {store!r}")
    bury = sim._bury

    def lose_then_bury(worker: Any, result: tuple[str, str]) -> None:
        store.lose_owner(worker.owner)
        bury(worker, result)

    sim._bury = lose_then_bury  # type: ignore[method-assign]  # the deliberate bug


# ---------------------------------------------------------------- the adapter
class BrokenSimReferenceAdapter(SimReferenceAdapter):
    """``SimReferenceAdapter`` whose simulation has one variant's bug (see ``VARIANTS``)."""

    def __init__(self, variant: str, workers: int = 2, seed: int | None = None,
                 max_steps: int = DEFAULT_MAX_STEPS) -> None:
        self.variant: Variant = variant_named(variant)
        super().__init__(workers, seed, max_steps)
        self.name = f"reference+{variant}"
        self._undo: Callable[[], None] | None = None

    def simulation_options(self) -> dict[str, Any]:
        store = SIM_STORES.get(self.variant.name)
        return {} if store is None else {"store": store}

    def open(self, session: Session) -> None:
        super().open(session)
        assert self.sim is not None
        self._undo = install(self.variant.name, self.sim)

    def close(self) -> None:
        undo, self._undo = self._undo, None
        try:
            if undo is not None:
                undo()
        finally:
            super().close()

    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        handle = super().launch(label, workflow, inputs)
        if self.variant.name == "launch_submitted_twice":
            super().launch(label, workflow, inputs)  # the retried submit: a second process
        return handle

    def relaunch(self, label: str, of: Handle) -> Handle:
        if self.variant.name != "relaunch_reuses_id":
            return super().relaunch(label, of)
        store = self._sim().store
        assert isinstance(store, RequeueingStore)
        store.requeue(int(of.id))
        return self._remember(label, int(of.id))
