"""The simulation's history: one list of flat event tuples, its digest, and pure checks.

Events are tuples of JSON scalars whose first item names the kind:

| event | fields after the kind |
| --- | --- |
| ``spawn`` | owner |
| ``submit`` | process id, type, label |
| ``claim`` | owner, process id, task id, attempt, version, virtual ms |
| ``effect`` | owner, process id, name, attempt (written by bodies via ``record_effect``) |
| ``write`` | owner, method, process id, claimed version, committed (bool) |
| ``crash`` | owner, crashpoint, name (an armed crashpoint fired) |
| ``fault`` | kind, owner or None, switch point or None |
| ``lost`` | owner, store method, committed (a store call cut by a database restart) |
| ``death`` | owner, reason, switch point |
| ``api`` | operation, arguments (kill, relaunch, caching, invalidate, arm) |
| ``expired`` | virtual ms after the jump |

Why tuples and not dataclasses: a run appends a few hundred events and the digest
serialises them all; flat tuples keep the simulator at thousands of runs per second.
"""

from __future__ import annotations

import contextvars
import hashlib
import marshal
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from reference_engine.runtime.context import current_execution

Event = tuple[Any, ...]


class _Recorder(Protocol):
    owner: str
    events: list[Event]
    sim: Any


_current_worker: contextvars.ContextVar[_Recorder | None] = contextvars.ContextVar(
    "reference_engine_sim_worker", default=None
)


def set_current_worker(worker: _Recorder | None) -> None:
    """Called once at the start of each worker greenlet (each has its own context)."""
    _current_worker.set(worker)


def record_effect(name: str) -> bool:
    """Append an ``effect`` event for the body running now; False outside a simulation.

    Bodies call this where a real engine's bodies would write their journal line, so the
    journal of a simulated run is part of its history (and of its digest).
    """
    worker = _current_worker.get()
    if worker is None:
        return False
    ex = current_execution()
    pid = ex.process_id if ex is not None else None
    attempt = ex.attempt if ex is not None else None
    worker.events.append(("effect", worker.owner, pid, name, attempt))
    return True


def current_simulation() -> Any:
    """The ``Simulation`` whose worker runs this body, or None outside a simulation.

    For bodies that drive faults themselves (``Simulation.queue_fault``), as a harness's
    journal-triggered nemesis does.
    """
    worker = _current_worker.get()
    return None if worker is None else worker.sim


def in_simulation() -> bool:
    """True inside a simulated worker (bodies may then skip slow real-world journals)."""
    return _current_worker.get() is not None


def digest(events: Iterable[Event]) -> str:
    """sha256 of the events in ``marshal`` format 2: equal runs give equal digests.

    Canonical because events hold only None, bool, int, str (and tuples of them): format
    2 writes each by type and value, with no back-references that would depend on object
    identity, and it has not changed since Python 2.5. Three times faster than JSON,
    which matters when every run ends with a digest.
    """
    return hashlib.sha256(marshal.dumps(list(events), 2)).hexdigest()


def effect_counts(events: Iterable[Event]) -> Counter[tuple[int, str]]:
    """How many times each (process id, effect name) executed."""
    return Counter((e[2], e[3]) for e in events if e[0] == "effect")


def fencing_violations(events: Sequence[Event]) -> list[str]:
    """Committed writes that the version fence should have refused (clause C5).

    A committed write must come from the latest claim of its process (same owner and
    version), and one claimed version of a process commits at most once: otherwise two
    workers both advanced the process.
    """
    latest: dict[int, tuple[str, int]] = {}
    committed: set[tuple[int, int]] = set()
    problems: list[str] = []
    for event in events:
        if event[0] == "claim":
            latest[event[2]] = (event[1], event[5])
        elif event[0] == "write" and event[5]:
            _, owner, method, pid, version, _ok = event
            if method == "drop_task":
                continue
            if latest.get(pid) != (owner, version):
                problems.append(f"{method} of process {pid} by {owner} at version {version} "
                                f"committed, but the latest claim was {latest.get(pid)}")
            if (pid, version) in committed:
                problems.append(f"process {pid} was advanced twice from version {version}")
            committed.add((pid, version))
    return problems
