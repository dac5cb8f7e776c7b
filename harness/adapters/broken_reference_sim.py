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

import threading
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness.adapter import Handle
from harness.adapters.broken_reference import Variant, variant_named
from harness.adapters.broken_reference_patches import EXECUTOR_BUGS, FOREVER, excepted_hash
from harness.adapters.reference_sim import DEFAULT_MAX_STEPS, SimReferenceAdapter
from harness.session import Session
from reference_engine.runtime import executor
from reference_engine.sim import SimStore, Simulation, current_simulation
from reference_engine.storage.records import ClaimedTask

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

    def except_process(self, claimed: ClaimedTask, message: str, exception: str) -> bool:
        done = super().except_process(claimed, message, exception)
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


SIM_STORES: dict[str, type[SimStore]] = {
    "ack_before_commit": AckBeforeCommitStore,
    "excepted_source_hit": ExceptedKeepsHashStore,
    "unfenced_duplicate_delivery": UnfencedStore,
    "stale_commit_after_takeover": UnfencedStore,
    "relaunch_reuses_id": RequeueingStore,
    "task_lost_on_worker_death": LosingStore,
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

    def relaunch(self, label: str, of: Handle) -> Handle:
        if self.variant.name != "relaunch_reuses_id":
            return super().relaunch(label, of)
        store = self._sim().store
        assert isinstance(store, RequeueingStore)
        store.requeue(int(of.id))
        return self._remember(label, int(of.id))
