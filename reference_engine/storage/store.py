"""The engine's durable state and every transaction the runtimes need.

Invariants kept here, each in one transaction:
- a process and its first task are created together (no active process without a task);
- a claim bumps the process's version: any older holder is fenced out (C5);
- a step's checkpoint, its children and the task's completion commit together, under a
  compare-and-set on the version, so a redelivered or stale task cannot advance it twice;
- a terminal child wakes its waiting parent when all awaited children are terminal;
- a commit asked to ``refuse`` (an armed ``fail_commit`` fault point) does all of its
  writes and then raises ``CommitRefusedError`` inside the transaction, which rolls back:
  the database refused the COMMIT, nothing of the step is durable.

On PostgreSQL (READ COMMITTED) the same invariants need row locks, always taken in one
order: a task row before its process row, and a child before its parent. Claims skip
locked rows; the fence locks what it checks until the commit; kill locks the whole
subtree bottom-up; a finishing child locks its parent. A deadlock that still happens
(a kill racing a brand-new grandchild) is retried (``transactions.retry_transient``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from reference_engine.core.caching import CachingConfig, SourceCandidate
from reference_engine.core.checkpoint import Checkpoint
from reference_engine.core.interpreter import Transition
from reference_engine.core.limits import safe_text
from reference_engine.core.values import JsonValue, dumps, loads
from reference_engine.errors import CommitRefusedError, CorruptRecordError, NoSuchProcessError
from reference_engine.storage import statements_pg as pg
from reference_engine.storage.connect import normalise_url, open_database
from reference_engine.storage.records import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    ClaimedTask,
    ProcessRecord,
)
from reference_engine.storage.schema import events, faults, processes, settings, tasks
from reference_engine.storage.statements import (
    ARMED,
    BUMP_PROCESS,
    DELETE_TASK,
    FENCE,
    INSERT_EVENT,
    INSERT_PROCESS,
    INSERT_TASK,
    LEASE_OLDEST_TASK,
    LEASE_TASK_OF,
    PROCESS_COLUMNS,
    RELEASE_TASK,
    WRITE_PROCESS,
)
from reference_engine.storage.transactions import (
    OnReady,
    begin,
    mark_ready,
    retry_transient,
)

CACHING_KEY = "caching"


class Store:
    """All reads and writes of one engine database (SQLite file or PostgreSQL URL)."""

    def __init__(self, url: str | os.PathLike[str], clock: Callable[[], float] = time.time):
        self.url = normalise_url(url)
        self.db = open_database(self.url)
        self.clock = clock
        self.is_sqlite = self.url.startswith("sqlite")
        # Called after a commit with the ids whose task it made claimable; the broker
        # runtime publishes them (see storage/transactions.py). None: nobody listens.
        self.on_ready: OnReady | None = None

    def _begin(self) -> AbstractContextManager[Connection]:
        return begin(self.db, self.on_ready)

    def close(self) -> None:
        self.db.dispose()

    # ----------------------------------------------------------------- creation
    @retry_transient
    def create_process(
        self,
        type_string: str,
        label: str,
        kind: str,
        inputs: dict[str, JsonValue],
        restart_of: int | None = None,
    ) -> int:
        with self._begin() as conn:
            return self._insert_process(conn, type_string, label, kind, inputs, None, None,
                                        restart_of)

    def _insert_process(
        self,
        conn: Connection,
        type_string: str,
        label: str,
        kind: str,
        inputs: dict[str, JsonValue],
        parent_id: int | None,
        parent_key: str | None,
        restart_of: int | None = None,
    ) -> int:
        now = self.clock()
        if not self.is_sqlite:  # one statement: process, task and event (statements_pg)
            pid = conn.execute(pg.CREATE_PROCESS, {
                "type": type_string, "label": label, "kind": kind, "inputs": dumps(inputs),
                "parent_id": parent_id, "parent_key": parent_key, "restart_of": restart_of,
                "now": now}).scalar_one()
            mark_ready(conn, int(pid))
            return int(pid)
        pid = conn.execute(INSERT_PROCESS, {
            "type": type_string, "label": label, "kind": kind, "state": "created",
            "message": "", "inputs": dumps(inputs), "version": 0, "parent_id": parent_id,
            "parent_key": parent_key, "restart_of": restart_of, "cache_valid": True,
            "exit_invalidates_cache": False, "created_at": now, "updated_at": now,
        }).scalar_one()
        conn.execute(INSERT_TASK, {"process_id": pid, "attempts": 0})
        mark_ready(conn, int(pid))
        self._event(conn, pid, "created", None, now)
        return int(pid)

    def _event(self, conn: Connection, pid: int, state: str, worker: str | None,
               now: float) -> None:
        conn.execute(INSERT_EVENT, {"process_id": pid, "state": state, "worker": worker,
                                    "at": now})

    # ----------------------------------------------------------------- claiming
    @retry_transient
    def claim(self, owner: str, lease_seconds: float = 60.0) -> ClaimedTask | None:
        """Lease the oldest free task; bump its attempt count and the process version."""
        now = self.clock()
        params = {"now": now, "owner": owner, "expires": now + lease_seconds}
        with self._begin() as conn:
            if not self.is_sqlite:
                return self._claimed(conn, conn.execute(pg.CLAIM_OLDEST, params), owner)
            row = conn.execute(LEASE_OLDEST_TASK, params).first()
            return None if row is None else self._take(conn, row, owner, now)

    @retry_transient
    def claim_process(
        self, pid: int, owner: str, lease_seconds: float = 60.0
    ) -> ClaimedTask | None:
        """Lease the task of process ``pid`` if it has one that nobody holds.

        The broker runtime's claim: a message only says "process X has work"; None means
        there is nothing to do for this message (no task: the process waits or is
        terminal; or a live lease: another worker runs it and will announce what follows).
        """
        now = self.clock()
        params = {"pid": pid, "now": now, "owner": owner, "expires": now + lease_seconds}
        with self._begin() as conn:
            if not self.is_sqlite:
                return self._claimed(conn, conn.execute(pg.CLAIM_PROCESS, params), owner)
            row = conn.execute(LEASE_TASK_OF, params).first()
            return None if row is None else self._take(conn, row, owner, now)

    def _take(self, conn: Connection, row: Any, owner: str, now: float) -> ClaimedTask | None:
        """Bump the leased task's process version (fences older holders) and load it."""
        task_id, pid, attempts = row
        bumped = conn.execute(BUMP_PROCESS, {"pid": pid, "now": now}).mappings().first()
        self._event(conn, pid, "claimed", owner, now)
        # The executor needs no child list; a terminal process (nothing bumped) is loaded
        # whole, for its N1 path.
        try:
            record = _record(bumped, ()) if bumped is not None else self._load(conn, pid)
        except CorruptRecordError as exc:
            return self._quarantine(conn, task_id, pid, owner, str(exc), now)
        armed = tuple(tuple(r) for r in conn.execute(ARMED))
        return ClaimedTask(task_id, attempts, owner, record, armed)  # type: ignore[arg-type]

    def _claimed(self, conn: Connection, result: Any, owner: str) -> ClaimedTask | None:
        """The ClaimedTask of a PostgreSQL one-statement claim (``statements_pg``)."""
        row = result.mappings().first()
        if row is None:
            return None
        try:
            record = (_record(row, ()) if row["id"] is not None
                      else self._load(conn, row["task_process"]))  # terminal: no bump
        except CorruptRecordError as exc:
            return self._quarantine(conn, row["task_id"], row["task_process"], owner,
                                    str(exc), self.clock())
        armed = tuple((a[0], a[1], a[2]) for a in row["armed"])
        return ClaimedTask(row["task_id"], row["task_attempts"], owner, record, armed)

    def _quarantine(self, conn: Connection, task_id: int, pid: int, owner: str,
                    reason: str, now: float) -> None:
        """Except a process whose row cannot be loaded, in the claim's own transaction.

        Why here: a claim that raised would roll back and leave the task first in line,
        so every worker would die on it and no other work would run (a poison task).
        """
        conn.execute(DELETE_TASK, {"task_id": task_id})
        conn.execute(update(processes).where(processes.c.id == pid).values(
            state="excepted", message=safe_text(reason), outputs="{}", updated_at=now,
            version=processes.c.version + 1))
        self._event(conn, pid, "excepted", owner, now)
        parent = conn.execute(select(processes.c.parent_id)
                              .where(processes.c.id == pid)).scalar()
        self._wake_parent(conn, parent)

    @retry_transient
    def renew_lease(self, task_id: int, owner: str, lease_seconds: float) -> bool:
        with self._begin() as conn:
            done = conn.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.lease_owner == owner)
                .values(lease_expires=self.clock() + lease_seconds)
            )
            return done.rowcount == 1

    @retry_transient
    def release_owner(self, owner: str) -> int:
        """Free every lease of a dead worker at once, so continuation need not wait."""
        with self._begin() as conn:
            freed = conn.execute(
                update(tasks).where(tasks.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires=None)
                .returning(tasks.c.process_id)
            ).scalars().all()
            for pid in freed:
                mark_ready(conn, pid)
            return len(freed)

    @retry_transient
    def release_task(self, claimed: ClaimedTask) -> bool:
        """Give back a task this worker still holds, for redelivery (a failed attempt).

        Its attempt count stays: the next claim is the next attempt. False if the lease
        was no longer ours (a newer claim holds the task, or it is gone).
        """
        with self._begin() as conn:
            freed = conn.execute(
                update(tasks).where(tasks.c.id == claimed.task_id,
                                    tasks.c.lease_owner == claimed.owner)
                .values(lease_owner=None, lease_expires=None)
            ).rowcount
            if freed:
                mark_ready(conn, claimed.process.id)
            return bool(freed)

    @retry_transient
    def drop_task(self, claimed: ClaimedTask) -> None:
        """Acknowledge a task that has nothing left to do (its process is terminal)."""
        with self._begin() as conn:
            conn.execute(
                delete(tasks).where(tasks.c.id == claimed.task_id,
                                    tasks.c.lease_owner == claimed.owner)
            )

    # ----------------------------------------------------------------- committing
    def _fence(self, conn: Connection, claimed: ClaimedTask) -> bool:
        """True if this worker still holds the task and the process is unchanged.

        On PostgreSQL the task row and then the process row stay locked until the commit
        (``statements.FENCE``), so no newer claim can commit in between.
        """
        row = conn.execute(FENCE, {"task_id": claimed.task_id,
                                   "owner": claimed.owner}).first()
        return row is not None and row[0] == claimed.process.version and row[1] == "running"

    def still_holds(self, claimed: ClaimedTask) -> bool:
        """Whether this claim is still the process's: the worker holds the task, and no kill
        or newer claim moved the process on (``_fence``'s test, read without locks).

        Why: the executor asks just before a body begins. A kill committed after the
        claim otherwise let the body run anyway (its commit was then refused): a killed
        process ran again, N1 (a real-tier fuzz campaign, seed 2026120410, 2026-12-04:
        the cache lookup between claim and body took 56 ms under load). A kill that
        lands after this read is the commit fence's to refuse. The same predicate as
        ``_fence`` (one test of "still mine", which a broken variant patches once)."""
        with self.db.connect() as conn:
            return self._fence(conn, claimed)

    @retry_transient
    def commit_transition(
        self, claimed: ClaimedTask, transition: Transition, child_kinds: dict[str, str],
        refuse: bool = False,
    ) -> bool:
        """Commit one workflow step atomically; False if fenced out (nothing written).

        ``child_kinds`` maps each launch's ctx key to "workflow" or "calculation"; the
        runtime resolves it because only it may import user code. ``refuse``: an armed
        ``fail_commit`` fired; roll back and raise ``CommitRefusedError`` (module doc).
        """
        now, pid = self.clock(), claimed.process.id
        with self._begin() as conn:
            if not self._fence(conn, claimed):
                return False
            checkpoint = transition.checkpoint
            values: dict[str, Any] = {}
            if transition.outcome == "wait":
                awaiting = {
                    req.key: self._insert_process(
                        conn, req.type_string, req.label, child_kinds[req.key],
                        req.inputs, pid, req.key,
                    )
                    for req in transition.launches
                }
                checkpoint = Checkpoint(checkpoint.pc, checkpoint.ctx, checkpoint.outputs,
                                        awaiting, checkpoint.steps_done)
                values["state"] = "waiting"
            elif transition.outcome == "continue":
                values["state"] = "running"
            else:
                values.update(self._terminal_values(transition))
            values["checkpoint"] = checkpoint.to_json()
            self._settle(conn, claimed, values, now)
            if refuse:
                raise CommitRefusedError(pid, f"{claimed.process.label}.{transition.step}",
                                         claimed.attempt)
        return True

    def _settle(self, conn: Connection, claimed: ClaimedTask, values: dict[str, Any],
                now: float) -> None:
        """After the fence: write the process, complete or free its task, log, wake.

        A task whose process goes on running is freed (and announced: any worker may take
        the next step); otherwise it is done and deleted.
        """
        pid = claimed.process.id
        for column in ("message", "exception"):  # quote user text: must always be writable
            if isinstance(values.get(column), str):
                values[column] = safe_text(values[column])
        unknown = values.keys() - PROCESS_COLUMNS
        if unknown:  # WRITE_PROCESS would skip them without a word
            raise ValueError(f"not columns of processes: {sorted(unknown)}")
        if values["state"] == "running":
            conn.execute(RELEASE_TASK, {"task_id": claimed.task_id})
            mark_ready(conn, pid)
        else:
            conn.execute(DELETE_TASK, {"task_id": claimed.task_id})
        conn.execute(WRITE_PROCESS, {**values, "pid": pid, "updated_at": now,
                                     "version": claimed.process.version + 1})
        self._event(conn, pid, values["state"], claimed.owner, now)
        if values["state"] in TERMINAL_STATES:
            self._wake_parent(conn, claimed.process.parent_id)

    @staticmethod
    def _terminal_values(transition: Transition) -> dict[str, Any]:
        if transition.outcome == "excepted":
            return {"state": "excepted", "exception": transition.exception,
                    "message": transition.message, "outputs": dumps({})}
        return {"state": "finished", "exit_status": transition.exit_status,
                "message": transition.message, "outputs": dumps(transition.outputs)}

    @retry_transient
    def finish_calculation(
        self,
        claimed: ClaimedTask,
        outputs: dict[str, JsonValue],
        exit_status: int,
        calc_hash: str | None,
        exit_invalidates_cache: bool = False,
        cached_from: int | None = None,
        message: str = "",
        refuse: bool = False,
    ) -> bool:
        now = self.clock()
        with self._begin() as conn:
            if not self._fence(conn, claimed):
                return False
            self._settle(conn, claimed, {
                "state": "finished", "exit_status": exit_status, "outputs": dumps(outputs),
                "hash": calc_hash, "cached_from": cached_from, "message": message,
                "exit_invalidates_cache": exit_invalidates_cache,
            }, now)
            if refuse:
                raise CommitRefusedError(claimed.process.id, claimed.process.label,
                                         claimed.attempt)
        return True

    @retry_transient
    def except_process(self, claimed: ClaimedTask, message: str, exception: str,
                       refuse: bool = False) -> bool:
        """Mark a claimed process excepted with its reason (bad input, user error)."""
        now = self.clock()
        with self._begin() as conn:
            if not self._fence(conn, claimed):
                return False
            self._settle(conn, claimed, {
                "state": "excepted", "message": message, "exception": exception,
                "outputs": dumps({}),
            }, now)
            if refuse:
                raise CommitRefusedError(claimed.process.id, claimed.process.label,
                                         claimed.attempt)
        return True

    def _wake_parent(self, conn: Connection, parent_id: int | None) -> None:
        """Queue the parent's task once all the children it awaits are terminal."""
        if parent_id is None:
            return
        query = select(processes.c.state, processes.c.checkpoint).where(
            processes.c.id == parent_id
        )
        if not self.is_sqlite:
            query = query.with_for_update()  # siblings finishing at once serialise here
        parent = conn.execute(query).first()
        if parent is None or parent.state != "waiting":
            return
        awaiting = json.loads(parent.checkpoint or "{}").get("awaiting", {})
        states = conn.execute(
            select(processes.c.state).where(processes.c.id.in_(list(awaiting.values())))
        ).scalars().all()
        if all(s in TERMINAL_STATES for s in states):
            exists = conn.execute(select(tasks.c.id).where(tasks.c.process_id == parent_id))
            if exists.first() is None:
                conn.execute(insert(tasks).values(process_id=parent_id, attempts=0))
                mark_ready(conn, parent_id)

    # ----------------------------------------------------------------- killing
    @retry_transient
    def kill(self, pid: int, message: str = "killed by request") -> list[int]:
        """Kill an active process and its active descendants; wake its parent."""
        now = self.clock()
        with self._begin() as conn:
            record = self._load(conn, pid)
            if record.is_terminal:
                return []
            doomed = self._active_tree(conn, pid)
            if not self.is_sqlite:
                self._lock_tree(conn, doomed)
                doomed = self._active_tree(conn, pid)  # children committed meanwhile
                # We now hold process rows, so waiting for a task row another writer
                # holds (it then waits for our process row) would deadlock for
                # deadlock_timeout: fail at once instead, and retry_transient reruns the
                # whole kill (nothing was written).
                self._lock_tree(conn, doomed, nowait=True)
            # Only still-active rows: a child that finished since it was read keeps its
            # result (READ COMMITTED re-checks this WHERE on the newest row version).
            doomed = list(conn.execute(
                update(processes)
                .where(processes.c.id.in_(doomed), processes.c.state.in_(ACTIVE_STATES))
                .values(state="killed", message=message, version=processes.c.version + 1,
                        outputs=dumps({}), updated_at=now)
                .returning(processes.c.id)
            ).scalars())
            if pid not in doomed:
                return []
            conn.execute(delete(tasks).where(tasks.c.process_id.in_(doomed)))
            for victim in doomed:
                self._event(conn, victim, "killed", None, now)
            self._wake_parent(conn, record.parent_id)
        return doomed

    @staticmethod
    def _active_tree(conn: Connection, pid: int) -> list[int]:
        doomed, frontier = [pid], [pid]
        while frontier:
            kids = conn.execute(
                select(processes.c.id).where(processes.c.parent_id.in_(frontier),
                                             processes.c.state.in_(ACTIVE_STATES))
            ).scalars().all()
            doomed.extend(kids)
            frontier = list(kids)
        return doomed

    @staticmethod
    def _lock_tree(conn: Connection, ids: list[int], nowait: bool = False) -> None:
        """Lock tasks, then processes, children before parents (higher ids first).

        The order every other writer uses: claim and the fence take a task before its
        process, and a finishing child locks itself before its parent (``_wake_parent``).
        Locking the parent first made kill and a child's completion deadlock, which
        PostgreSQL only breaks after ``deadlock_timeout`` (1 s).
        """
        conn.execute(select(tasks.c.id).where(tasks.c.process_id.in_(ids))
                     .order_by(tasks.c.process_id.desc()).with_for_update(nowait=nowait)).all()
        conn.execute(select(processes.c.id).where(processes.c.id.in_(ids))
                     .order_by(processes.c.id.desc()).with_for_update(nowait=nowait)).all()

    # ----------------------------------------------------------------- caching
    def caching_config(self) -> CachingConfig:
        with self.db.connect() as conn:
            value = conn.execute(
                select(settings.c.value).where(settings.c.key == CACHING_KEY)
            ).scalar()
        return CachingConfig.from_dict(json.loads(value)) if value else CachingConfig()

    def set_caching_config(self, config: CachingConfig) -> None:
        self._put_setting(CACHING_KEY, json.dumps(config.to_dict()))

    @retry_transient
    def _put_setting(self, key: str, value: str) -> None:
        with self._begin() as conn:
            if self.is_sqlite:
                conn.execute(delete(settings).where(settings.c.key == key))
                conn.execute(insert(settings).values(key=key, value=value))
            else:  # two writers at once: delete+insert would violate the primary key
                # (imported here: the PostgreSQL dialect pulls in asyncio, 40 ms of every
                # SQLite worker's start)
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                conn.execute(pg_insert(settings).values(key=key, value=value)
                             .on_conflict_do_update(index_elements=[settings.c.key],
                                                    set_={"value": value}))

    def cache_candidates(self, calc_hash: str, exclude: int) -> list[SourceCandidate]:
        with self.db.connect() as conn:
            rows = conn.execute(
                select(processes).where(
                    processes.c.hash == calc_hash, processes.c.id != exclude,
                    processes.c.kind == "calculation",
                ).order_by(processes.c.id)
            ).mappings().all()
        return [
            SourceCandidate(
                r["id"], r["state"], r["exit_status"], bool(r["cache_valid"]),
                bool(r["exit_invalidates_cache"]), loads(r["outputs"] or "{}"),
            )
            for r in rows
        ]

    def invalidate(self, pid: int) -> None:
        with self._begin() as conn:
            self._load(conn, pid)
            conn.execute(update(processes).where(processes.c.id == pid).values(cache_valid=False))

    # ----------------------------------------------------------------- faults
    def arm(self, crashpoint: str, target: str, attempt: int | None) -> None:
        with self._begin() as conn:
            conn.execute(insert(faults).values(crashpoint=crashpoint, target=target,
                                               attempt=attempt))

    def disarm_all(self) -> None:
        with self._begin() as conn:
            conn.execute(delete(faults))

    def record_crash(self, owner: str, pid: int, crashpoint: str, name: str) -> None:
        """Log an armed crashpoint firing (committed before the worker dies)."""
        with self._begin() as conn:
            conn.execute(insert(events).values(
                process_id=pid, state=f"crash:{crashpoint}:{name}", worker=owner,
                at=self.clock(),
            ))

    def note(self, pid: int, what: str, worker: str | None) -> None:
        """Log a runtime observation in the event history (e.g. a dropped stale hint)."""
        with self._begin() as conn:
            self._event(conn, pid, what, worker, self.clock())

    def armed(self) -> list[tuple[str, str, int | None]]:
        with self.db.connect() as conn:
            rows = conn.execute(select(faults.c.crashpoint, faults.c.target, faults.c.attempt))
            return [tuple(r) for r in rows]  # type: ignore[misc]  # Row -> 3-tuple

    # ----------------------------------------------------------------- reading
    def get(self, pid: int) -> ProcessRecord:
        with self.db.connect() as conn:
            return self._load(conn, pid)

    def _load(self, conn: Connection, pid: int) -> ProcessRecord:
        row = conn.execute(select(processes).where(processes.c.id == pid)).mappings().first()
        if row is None:
            raise NoSuchProcessError(pid)
        kids = conn.execute(
            select(processes.c.id).where(processes.c.parent_id == pid).order_by(processes.c.id)
        ).scalars().all()
        return _record(row, tuple(kids))

    def views(self, ids: Iterable[int]) -> dict[int, dict[str, JsonValue]]:
        """Child views for a workflow resuming after its children finished."""
        wanted = list(ids)
        if not wanted:
            return {}
        with self.db.connect() as conn:
            rows = conn.execute(select(processes).where(processes.c.id.in_(wanted))).mappings()
            return {
                r["id"]: {
                    "id": r["id"], "state": r["state"], "exit_status": r["exit_status"],
                    "outputs": loads(r["outputs"] or "{}"), "cached_from": r["cached_from"],
                }
                for r in rows
            }

    def list_processes(self) -> list[ProcessRecord]:
        with self.db.connect() as conn:
            rows = conn.execute(select(processes).order_by(processes.c.id)).mappings().all()
            links: dict[int, list[int]] = {}
            for child, parent in conn.execute(
                select(processes.c.id, processes.c.parent_id)
                .where(processes.c.parent_id.is_not(None)).order_by(processes.c.id)
            ):
                links.setdefault(parent, []).append(child)
        return [_record(r, tuple(links.get(r["id"], ()))) for r in rows]

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            rows = conn.execute(
                select(events).where(events.c.id > after).order_by(events.c.id)
            ).mappings().all()
        return [dict(r) for r in rows]

    def task_count(self) -> int:
        with self.db.connect() as conn:
            return len(conn.execute(select(tasks.c.id)).all())

    def unleased_tasks(self) -> list[int]:
        """Process ids whose task nobody holds (free or lease expired): for the sweeper."""
        now = self.clock()
        with self.db.connect() as conn:
            return list(conn.execute(
                select(tasks.c.process_id)
                .where(or_(tasks.c.lease_owner.is_(None), tasks.c.lease_expires < now))
                .order_by(tasks.c.id)
            ).scalars())

    def active_without_task(self) -> list[int]:
        """Active, non-waiting processes with no task: must always be empty (L1)."""
        with self.db.connect() as conn:
            return list(conn.execute(
                select(processes.c.id)
                .outerjoin(tasks, tasks.c.process_id == processes.c.id)
                .where(and_(processes.c.state.in_(("created", "running")),
                            tasks.c.id.is_(None)))
            ).scalars())


def _decode(text: str, pid: int, column: str) -> JsonValue:
    """A stored JSON column, or ``CorruptRecordError`` naming the process and column."""
    try:
        return loads(text)
    except (ValueError, RecursionError) as exc:
        raise CorruptRecordError(pid, column, f"{type(exc).__name__}: {exc}") from None


def _record(row: Any, children: tuple[int, ...]) -> ProcessRecord:
    return ProcessRecord(
        id=row["id"], type=row["type"], label=row["label"], kind=row["kind"],
        state=row["state"], exit_status=row["exit_status"], message=row["message"] or "",
        exception=row["exception"], inputs=_decode(row["inputs"], row["id"], "inputs"),
        outputs=(None if row["outputs"] is None
                 else _decode(row["outputs"], row["id"], "outputs")),
        checkpoint=row["checkpoint"], version=row["version"], parent_id=row["parent_id"],
        parent_key=row["parent_key"], restart_of=row["restart_of"], hash=row["hash"],
        cached_from=row["cached_from"], cache_valid=bool(row["cache_valid"]),
        exit_invalidates_cache=bool(row["exit_invalidates_cache"]),
        created_at=row["created_at"], updated_at=row["updated_at"], children=children,
    )
