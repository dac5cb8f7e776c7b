"""``SimStore``: the engine's store as plain Python tables, for the simulation tier.

Why a second store: ``Store`` on an in-memory SQLite database runs the same transactions
about fifty times slower, which caps the simulator at tens of scenarios per second. This
class implements the same public methods with the same observable results (ids, versions,
event rows, fencing, claim order), and ``tests/sim/test_store_differential.py`` runs one
seeded schedule against both and requires identical histories.

Atomicity: every method computes what can fail first and mutates last, and nothing in it
yields to the scheduler, so a method is one transaction: a simulated kill lands between
methods and loses exactly what a rolled-back transaction would. A commit asked to
``refuse`` (an armed ``fail_commit``) passes its fence and raises ``CommitRefusedError``
before it mutates anything, as ``Store``'s rolled-back transaction leaves nothing.

Ids follow SQLite's rowid rule (largest existing id + 1), so a task id can be reused
after its row is deleted, as with the embedded runtime's SQLite tasks table. A new id
is thus always larger than every live one, so the task and process dicts iterate in id
order: scans in id order (``claim``'s smallest free id first) need no sort.

Values are kept as ``marshal`` bytes of their JSON-normalised form and every read
decodes a fresh copy, as a database read would (a body that mutates its inputs must not
change what the next step sees); ``marshal.loads`` is four times faster than
``json.loads``, which matters at thousands of runs per second.
"""

from __future__ import annotations

import io
import json
import marshal
import pickle
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from reference_engine.core.caching import CachingConfig, SourceCandidate
from reference_engine.core.checkpoint import Checkpoint
from reference_engine.core.interpreter import Transition
from reference_engine.core.values import JsonValue, dumps, loads
from reference_engine.errors import CommitRefusedError, NoSuchProcessError
from reference_engine.storage.records import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    ClaimedTask,
    ProcessRecord,
)
from reference_engine.storage.transactions import OnReady

EVENT_COLUMNS = ("id", "process_id", "state", "worker", "at")


def freeze(value: JsonValue, text: str | None = None) -> bytes:
    """Bytes that ``thaw`` turns into a fresh copy of ``loads(dumps(value))``.

    Version 2 has no back-references, so a value used twice comes back as two copies,
    as from JSON; it keeps tuples, bytes and non-``str`` keys as they are. A type
    marshal refuses (a subclass of int or str, a Decimal, datetime or array), or a set
    (which marshal would sort), goes
    through the engine's typed JSON text instead, marked by a leading NUL byte (no
    marshal stream starts with one). ``text``: ``dumps(value)`` if the caller has it.
    """
    if "numpy" in sys.modules and not _plain(value):
        # marshal would write an array as its bare bytes (the buffer protocol), losing
        # dtype and shape; no array exists before NumPy is imported, hence the guard
        return _as_text(value, text)
    try:
        data = marshal.dumps(value, 2)
    except ValueError:
        return _as_text(value, text)
    if _SET_CODES.search(data) is None:
        return data
    # marshal sorts set members; the engine's JSON keeps their iteration order, as
    # the embedded tier's database does (a hash that depends on it must show it).
    return _as_text(value, text)


def _as_text(value: JsonValue, text: str | None) -> bytes:
    return b"\0" + (dumps(value) if text is None else text).encode("utf-8", "surrogatepass")


class _NotPlain(Exception):
    """Raised by ``_Probe`` at the first object of a type outside pickle's built-ins."""


class _Probe(pickle.Pickler):
    """A pickler that refuses every object pickle has no built-in code for.

    Why: ``pickle`` (in C) writes the exact built-in types itself and asks
    ``reducer_override`` only about the others (an array, a Decimal, a datetime, a
    subclass), so one dump answers "does marshal see only its own types?" at C speed;
    the Python walk it replaces made every ``freeze`` twice as slow once NumPy was
    imported (6.2 to 12.2 us).
    """

    def reducer_override(self, obj: object) -> Any:
        raise _NotPlain


def _plain(value: object) -> bool:
    """Whether `value` holds only built-in types (no array anywhere in it)."""
    probe = _Probe(io.BytesIO(), 5)
    probe.fast = True  # no memo (the C field: set on the instance, not the class)
    try:
        probe.dump(value)
    except _NotPlain:
        return False
    return True


_SET_CODES = re.compile(b"[<>\xbc\xbe]")  # marshal's set/frozenset codes (also with FLAG_REF)
"""A regular expression: its search scans in C, where ``frozenset.isdisjoint`` made an
int of every byte."""


def thaw(data: bytes) -> JsonValue:
    """A fresh copy of the value ``freeze`` gave ``data`` for."""
    if data[:1] == b"\0":
        return loads(data[1:].decode("utf-8", "surrogatepass"))
    return marshal.loads(data)


_new_record = object.__new__


class ProcessSummary(NamedTuple):
    """``ProcessRecord``'s fields an observer needs (``SimStore.list_summaries``)."""

    id: int
    label: str
    kind: str
    state: str
    exit_status: int | None
    outputs: JsonValue
    parent_id: int | None
    children: tuple[int, ...]
    restart_of: int | None
    cached_from: int | None


class _Row:
    """One row of the processes table: the checkpoint as text, values ``freeze``-d."""

    __slots__ = (
        "awaiting",
        "cache_valid",
        "cached_from",
        "checkpoint",
        "created_at",
        "exception",
        "exit_invalidates_cache",
        "exit_status",
        "hash",
        "id",
        "inputs",
        "kind",
        "label",
        "message",
        "outputs",
        "outputs_text",
        "parent_id",
        "parent_key",
        "restart_of",
        "state",
        "type",
        "updated_at",
        "version",
    )

    def __init__(self, pid: int, type_string: str, label: str, kind: str, inputs: bytes,
                 parent_id: int | None, parent_key: str | None, restart_of: int | None,
                 now: float) -> None:
        self.id, self.type, self.label, self.kind = pid, type_string, label, kind
        self.state, self.exit_status, self.message = "created", None, ""
        self.exception: str | None = None
        self.inputs = inputs
        self.outputs: bytes | None = None
        self.outputs_text: str | None = None
        self.awaiting: tuple[int, ...] = ()  # children ids of the checkpoint's "awaiting"
        self.checkpoint: str | None = None
        self.version, self.parent_id, self.parent_key = 0, parent_id, parent_key
        self.restart_of, self.hash, self.cached_from = restart_of, None, None
        self.cache_valid, self.exit_invalidates_cache = True, False
        self.created_at = self.updated_at = now


class _Task:
    __slots__ = ("attempts", "id", "lease_expires", "lease_owner", "process_id")

    def __init__(self, task_id: int, process_id: int) -> None:
        self.id, self.process_id, self.attempts = task_id, process_id, 0
        self.lease_owner: str | None = None
        self.lease_expires: float | None = None


class SimStore:
    """Same methods and results as ``reference_engine.storage.store.Store``, in memory."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.url = "sim://memory"
        self.clock = clock
        self.on_ready: OnReady | None = None
        self._rows: dict[int, _Row] = {}
        self._children: dict[int, list[int]] = {}
        self._tasks: dict[int, _Task] = {}
        self._max_task = 0
        self._task_of: dict[int, int] = {}  # process id -> task id (unique, as in the schema)
        self._by_hash: dict[str, list[int]] = {}
        self._events: list[tuple[int, int, str, str | None, float]] = []
        self._faults: list[tuple[str, str, int | None]] = []
        self._caching = CachingConfig()
        self._ready: list[int] = []
        self._thawed: dict[int, tuple[bytes, JsonValue]] = {}  # see ``list_summaries``

    def close(self) -> None:
        return None

    # ----------------------------------------------------------------- helpers
    def _event(self, pid: int, state: str, worker: str | None, now: float) -> None:
        self._events.append((len(self._events) + 1, pid, state, worker, now))

    def _insert_task(self, pid: int) -> None:
        task_id = self._max_task = self._max_task + 1  # SQLite's rowid: largest + 1
        self._tasks[task_id] = _Task(task_id, pid)
        self._task_of[pid] = task_id
        self._ready.append(pid)

    def _delete_task(self, task_id: int) -> None:
        task = self._tasks.pop(task_id, None)
        if task is not None:
            del self._task_of[task.process_id]
            if task_id == self._max_task:  # the next id reuses it, as SQLite's rowid does
                self._max_task = max(self._tasks, default=0)

    def _commit(self) -> None:
        """End of a transaction: hand the ids made claimable to ``on_ready``, as ``begin``."""
        if not self._ready:
            return
        ready, self._ready = self._ready, []
        if self.on_ready is not None:
            self.on_ready(list(dict.fromkeys(ready)))

    def _row(self, pid: int) -> _Row:
        row = self._rows.get(pid)
        if row is None:
            raise NoSuchProcessError(pid)
        return row

    def _load(self, pid: int) -> ProcessRecord:
        """The record ``Store._load`` returns, built without the frozen ``__init__``.

        Why: a frozen dataclass sets its 22 fields one ``object.__setattr__`` at a time,
        and every claim loads a record; filling ``__dict__`` at once is three times
        faster. ``test_store_differential`` compares the records with ``Store``'s.
        """
        row = self._row(pid)
        record = _new_record(ProcessRecord)
        record.__dict__.update(
            id=row.id, type=row.type, label=row.label, kind=row.kind, state=row.state,
            exit_status=row.exit_status, message=row.message, exception=row.exception,
            inputs=thaw(row.inputs),
            outputs=None if row.outputs is None else thaw(row.outputs),
            checkpoint=row.checkpoint, version=row.version, parent_id=row.parent_id,
            parent_key=row.parent_key, restart_of=row.restart_of, hash=row.hash,
            cached_from=row.cached_from, cache_valid=row.cache_valid,
            exit_invalidates_cache=row.exit_invalidates_cache, created_at=row.created_at,
            updated_at=row.updated_at, children=tuple(self._children.get(pid, ())),
        )
        return record

    # ----------------------------------------------------------------- creation
    def create_process(self, type_string: str, label: str, kind: str,
                       inputs: dict[str, JsonValue], restart_of: int | None = None) -> int:
        pid = self._insert_process(type_string, label, kind, freeze(inputs), None, None,
                                   restart_of)
        self._commit()
        return pid

    def _insert_process(self, type_string: str, label: str, kind: str, inputs: bytes,
                        parent_id: int | None, parent_key: str | None,
                        restart_of: int | None = None) -> int:
        now = self.clock()
        pid = len(self._rows) + 1  # processes are never deleted: max id + 1
        self._rows[pid] = _Row(pid, type_string, label, kind, inputs, parent_id, parent_key,
                               restart_of, now)
        if parent_id is not None:
            self._children.setdefault(parent_id, []).append(pid)
        self._insert_task(pid)
        self._event(pid, "created", None, now)
        return pid

    # ----------------------------------------------------------------- claiming
    def claim(self, owner: str, lease_seconds: float = 60.0) -> ClaimedTask | None:
        """Lease the free (or expired) task with the smallest id, as ``Store.claim``."""
        now = self.clock()
        for task in self._tasks.values():  # in id order (see the module docstring)
            if task.lease_owner is None or (task.lease_expires or 0.0) < now:
                return self._take(task, owner, lease_seconds, now)
        return None

    def claim_process(self, pid: int, owner: str,
                      lease_seconds: float = 60.0) -> ClaimedTask | None:
        now = self.clock()
        task_id = self._task_of.get(pid)
        if task_id is None:
            return None
        task = self._tasks[task_id]
        if task.lease_owner is not None and (task.lease_expires or 0.0) >= now:
            return None
        return self._take(task, owner, lease_seconds, now)

    def _take(self, task: _Task, owner: str, lease_seconds: float, now: float) -> ClaimedTask:
        task.lease_owner, task.lease_expires = owner, now + lease_seconds
        task.attempts += 1
        row = self._rows[task.process_id]
        if row.state in ACTIVE_STATES:
            row.state, row.version, row.updated_at = "running", row.version + 1, now
        self._event(row.id, "claimed", owner, now)
        self._commit()
        claimed = _new_record(ClaimedTask)  # as in ``_load``: twice as fast as __init__
        claimed.__dict__.update(task_id=task.id, attempt=task.attempts, owner=owner,
                                process=self._load(row.id))
        return claimed

    def renew_lease(self, task_id: int, owner: str, lease_seconds: float) -> bool:
        task = self._tasks.get(task_id)
        if task is None or task.lease_owner != owner:
            return False
        task.lease_expires = self.clock() + lease_seconds
        return True

    def release_owner(self, owner: str) -> int:
        freed = [t for t in self._tasks.values() if t.lease_owner == owner]
        for task in freed:
            task.lease_owner = task.lease_expires = None
            self._ready.append(task.process_id)
        self._commit()
        return len(freed)

    def release_task(self, claimed: ClaimedTask) -> bool:
        task = self._tasks.get(claimed.task_id)
        if task is None or task.lease_owner != claimed.owner:
            return False
        task.lease_owner = task.lease_expires = None
        self._ready.append(task.process_id)
        self._commit()
        return True

    def drop_task(self, claimed: ClaimedTask) -> None:
        task = self._tasks.get(claimed.task_id)
        if task is not None and task.lease_owner == claimed.owner:
            self._delete_task(task.id)

    # ----------------------------------------------------------------- committing
    def still_holds(self, claimed: ClaimedTask) -> bool:
        """As ``Store.still_holds``: the executor's read just before a body."""
        return self._fence(claimed)

    def _fence(self, claimed: ClaimedTask) -> bool:
        task = self._tasks.get(claimed.task_id)
        row = self._rows.get(claimed.process.id)
        return (
            task is not None and task.lease_owner == claimed.owner
            and row is not None and row.version == claimed.process.version
            and row.state == "running"
        )

    def commit_transition(self, claimed: ClaimedTask, transition: Transition,
                          child_kinds: dict[str, str], refuse: bool = False) -> bool:
        now, pid = self.clock(), claimed.process.id
        if not self._fence(claimed):
            return False
        if refuse:
            raise CommitRefusedError(pid, f"{claimed.process.label}.{transition.step}",
                                     claimed.attempt)
        checkpoint, outcome = transition.checkpoint, transition.outcome
        launches = [(req, freeze(req.inputs)) for req in transition.launches]
        row = self._rows[pid]
        if outcome == "wait":
            awaiting = {
                req.key: self._insert_process(req.type_string, req.label,
                                              child_kinds[req.key], inputs, pid, req.key)
                for req, inputs in launches
            }
            checkpoint = Checkpoint(checkpoint.pc, checkpoint.ctx, checkpoint.outputs,
                                    awaiting, checkpoint.steps_done)
            row.awaiting = tuple(awaiting.values())
            state = "waiting"
            self._delete_task(claimed.task_id)
        elif outcome == "continue":
            state = "running"
            task = self._tasks[claimed.task_id]
            task.lease_owner = task.lease_expires = None
            task.attempts = 0
            self._ready.append(pid)
        else:
            state = self._set_terminal(row, transition)
            self._delete_task(claimed.task_id)
        row.state, row.version, row.updated_at = state, claimed.process.version + 1, now
        row.checkpoint = checkpoint.to_json()
        self._event(pid, state, claimed.owner, now)
        if state in TERMINAL_STATES:
            self._wake_parent(row.parent_id)
        self._commit()
        return True

    @staticmethod
    def _set_terminal(row: _Row, transition: Transition) -> str:
        if transition.outcome == "excepted":
            row.exception, row.message = transition.exception, transition.message
            _set_outputs(row, {})
            return "excepted"
        row.exit_status, row.message = transition.exit_status, transition.message
        _set_outputs(row, transition.outputs)
        return "finished"

    def finish_calculation(self, claimed: ClaimedTask, outputs: dict[str, JsonValue],
                           exit_status: int, calc_hash: str | None,
                           exit_invalidates_cache: bool = False,
                           cached_from: int | None = None, message: str = "",
                           refuse: bool = False) -> bool:
        now = self.clock()
        if not self._fence(claimed):
            return False
        if refuse:
            raise CommitRefusedError(claimed.process.id, claimed.process.label,
                                     claimed.attempt)
        row = self._rows[claimed.process.id]
        _set_outputs(row, outputs)
        row.state, row.exit_status, row.message = "finished", exit_status, message
        if calc_hash != row.hash:
            self._rehash(row, calc_hash)
        row.cached_from, row.exit_invalidates_cache = cached_from, exit_invalidates_cache
        row.version, row.updated_at = claimed.process.version + 1, now
        self._delete_task(claimed.task_id)
        self._event(row.id, "finished", claimed.owner, now)
        self._wake_parent(row.parent_id)
        self._commit()
        return True

    def _rehash(self, row: _Row, calc_hash: str | None) -> None:
        if row.hash is not None:
            self._by_hash[row.hash].remove(row.id)
        if calc_hash is not None:
            ids = self._by_hash.setdefault(calc_hash, [])
            ids.append(row.id)
            ids.sort()
        row.hash = calc_hash

    def except_process(self, claimed: ClaimedTask, message: str, exception: str,
                       refuse: bool = False) -> bool:
        now = self.clock()
        if not self._fence(claimed):
            return False
        if refuse:
            raise CommitRefusedError(claimed.process.id, claimed.process.label,
                                     claimed.attempt)
        row = self._rows[claimed.process.id]
        row.state, row.message, row.exception = "excepted", message, exception
        _set_outputs(row, {})
        row.version, row.updated_at = claimed.process.version + 1, now
        self._delete_task(claimed.task_id)
        self._event(row.id, "excepted", claimed.owner, now)
        self._wake_parent(row.parent_id)
        self._commit()
        return True

    def _wake_parent(self, parent_id: int | None) -> None:
        """Queue the parent's task once all the children it awaits are terminal."""
        if parent_id is None:
            return
        parent = self._rows.get(parent_id)
        if parent is None or parent.state != "waiting":
            return
        rows = self._rows
        if parent_id not in self._task_of and all(
            rows[c].state in TERMINAL_STATES for c in parent.awaiting if c in rows
        ):
            self._insert_task(parent_id)

    # ----------------------------------------------------------------- killing
    def kill(self, pid: int, message: str = "killed by request") -> list[int]:
        now = self.clock()
        record = self._row(pid)
        if record.state in TERMINAL_STATES:
            return []
        doomed, frontier = [pid], [pid]
        while frontier:
            kids = [k for p in frontier for k in self._children.get(p, ())
                    if self._rows[k].state in ACTIVE_STATES]
            doomed.extend(kids)
            frontier = kids
        doomed = sorted({p for p in doomed if self._rows[p].state in ACTIVE_STATES})
        for victim in doomed:
            row = self._rows[victim]
            row.state, row.message, row.version = "killed", message, row.version + 1
            _set_outputs(row, {})
            row.updated_at = now
            task_id = self._task_of.get(victim)
            if task_id is not None:
                self._delete_task(task_id)
        for victim in doomed:
            self._event(victim, "killed", None, now)
        self._wake_parent(record.parent_id)
        self._commit()
        return doomed

    # ----------------------------------------------------------------- caching
    def caching_config(self) -> CachingConfig:
        return self._caching

    def set_caching_config(self, config: CachingConfig) -> None:
        self._caching = CachingConfig.from_dict(json.loads(json.dumps(config.to_dict())))

    def cache_candidates(self, calc_hash: str, exclude: int) -> list[SourceCandidate]:
        rows = (self._rows[p] for p in self._by_hash.get(calc_hash, ()) if p != exclude)
        return [
            SourceCandidate(r.id, r.state, r.exit_status, r.cache_valid,
                            r.exit_invalidates_cache, _outputs(r))
            for r in rows if r.kind == "calculation"
        ]

    def invalidate(self, pid: int) -> None:
        self._row(pid).cache_valid = False

    # ----------------------------------------------------------------- faults
    def arm(self, crashpoint: str, target: str, attempt: int | None) -> None:
        self._faults.append((crashpoint, target, attempt))

    def disarm_all(self) -> None:
        self._faults.clear()

    def record_crash(self, owner: str, pid: int, crashpoint: str, name: str) -> None:
        self._event(pid, f"crash:{crashpoint}:{name}", owner, self.clock())

    def note(self, pid: int, what: str, worker: str | None) -> None:
        self._event(pid, what, worker, self.clock())

    def armed(self) -> list[tuple[str, str, int | None]]:
        return list(self._faults)

    # ----------------------------------------------------------------- reading
    def get(self, pid: int) -> ProcessRecord:
        return self._load(pid)

    def views(self, ids: Iterable[int]) -> dict[int, dict[str, JsonValue]]:
        rows = self._rows
        return {
            r.id: {"id": r.id, "state": r.state, "exit_status": r.exit_status,
                   "outputs": _outputs(r), "cached_from": r.cached_from}
            for r in (rows[p] for p in sorted(set(ids)) if p in rows)
        }

    def list_processes(self) -> list[ProcessRecord]:
        return [self._load(pid) for pid in sorted(self._rows)]

    def list_summaries(self) -> list[ProcessSummary]:
        """What an observer of the whole run reads, per process in id order: the record
        without its inputs and checkpoint. Why: a harness observes after every launch,
        and decoding every process's inputs each time was most of an observation; for
        the same reason outputs are decoded once per write: a summary's outputs are the
        same object until the row's outputs change (observers only read them). A
        subclass that changes how records read (``_load``, ``list_processes``) is read
        through them, so the summaries always say what its records say."""
        cls = type(self)
        if cls._load is not SimStore._load or cls.list_processes is not SimStore.list_processes:
            return [ProcessSummary(r.id, r.label, r.kind, r.state, r.exit_status, r.outputs,
                                   r.parent_id, r.children, r.restart_of, r.cached_from)
                    for r in self.list_processes()]
        children, thawed = self._children, self._thawed
        summaries = []
        for _, r in sorted(self._rows.items()):
            outputs = None
            if r.outputs is not None:
                seen = thawed.get(r.id)
                if seen is None or seen[0] is not r.outputs:
                    seen = thawed[r.id] = (r.outputs, thaw(r.outputs))
                outputs = seen[1]
            summaries.append(ProcessSummary(r.id, r.label, r.kind, r.state, r.exit_status,
                                            outputs, r.parent_id, tuple(children.get(r.id, ())),
                                            r.restart_of, r.cached_from))
        return summaries

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        return [dict(zip(EVENT_COLUMNS, e, strict=True)) for e in self._events[max(after, 0):]]

    def task_count(self) -> int:
        return len(self._tasks)

    def unleased_tasks(self) -> list[int]:
        now = self.clock()
        return [t.process_id for t in self._tasks.values()
                if t.lease_owner is None or (t.lease_expires or 0.0) < now]

    def active_without_task(self) -> list[int]:
        return [pid for pid, row in sorted(self._rows.items())
                if row.state in ("created", "running") and pid not in self._task_of]

    def final_rows(self) -> list[tuple[Any, ...]]:
        """``Simulation.snapshot`` without building records: the digest's hot path."""
        return [
            ("final", r.id, r.type, r.label, r.state, r.exit_status, r.outputs_text,
             r.cached_from, r.parent_id, r.restart_of)
            for _, r in sorted(self._rows.items())
        ]


def _set_outputs(row: _Row, outputs: dict[str, JsonValue]) -> None:
    row.outputs_text = dumps(outputs)
    row.outputs = freeze(outputs, row.outputs_text)  # typed outputs: encoded once


def _outputs(row: _Row) -> dict[str, JsonValue]:
    """Outputs as ``loads(outputs or "{}")`` reads them in ``Store``."""
    return {} if row.outputs is None else thaw(row.outputs)  # type: ignore[no-any-return]
