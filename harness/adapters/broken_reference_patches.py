"""Engine-side bugs of the ``broken_reference`` variants, applied inside worker processes.

Why a module imported by the workers: the reference engine runs step and calculation
bodies in worker OS processes, so a bug in how it resumes, acknowledges, hashes or
fences must live there. The variant adapter names this module in the engine's documented
hook ``$REFERENCE_ENGINE_WORKER_PRELUDE`` and the variant in ``$WFCONFORM_BROKEN_VARIANT``;
each worker imports this module before its loop, which patches the engine (module
globals of the executor and methods of ``Store``) for the rest of that process.

The bugs come in two layers, so the sim tier (``broken_reference_sim``) reuses the very
same executor code: ``EXECUTOR_BUGS`` are factories (the engine's original function in,
the broken one out) for executor globals; ``STORE_BUGS`` patch the SQL ``Store`` class
(the sim tier has its own versions of those, over ``SimStore``).

Importing it patches nothing unless this process was started as a worker with both
variables set (the adapter puts them in the workers' environment only), so the harness
process may import the factories safely; ``apply`` is the explicit way in.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import insert, select, update

from harness.adapters.broken_reference_clauses import CLAUSE_EXECUTOR_BUGS, reader
from harness.adapters.broken_reference_values import VALUE_EXECUTOR_BUGS
from reference_engine.core.hashing import calculation_hash
from reference_engine.loader import resolve
from reference_engine.runtime import executor
from reference_engine.runtime.worker import PRELUDE_ENV_VAR
from reference_engine.storage.records import ClaimedTask
from reference_engine.storage.schema import events, processes, tasks
from reference_engine.storage.statements import FENCE
from reference_engine.storage.store import Store

__all__ = ["ENGINE_PATCHES", "EXECUTOR_BUGS", "STORE_BUGS", "VARIANT_ENV_VAR", "apply",
           "excepted_hash"]

VARIANT_ENV_VAR = "WFCONFORM_BROKEN_VARIANT"
FOREVER = 1e18
"""A lease expiry that never comes (seconds since the epoch)."""

StepRunner = Callable[[Any, ClaimedTask, Any, Any], None]
Factory = Callable[[Any], Any]  # the engine's original function -> the broken one


# ---------------------------------------------------------------- executor globals
def scratch_step(original: StepRunner) -> StepRunner:
    """resume_from_scratch: a redelivered workflow task ignores the checkpoint."""

    def run_step(store: Any, claimed: ClaimedTask, plan: Any, cls: Any) -> None:
        if claimed.attempt > 1 and claimed.process.checkpoint is not None:
            claimed = replace(claimed, process=replace(claimed.process, checkpoint=None))
        original(store, claimed, plan, cls)

    return run_step


def _shallow(value: Any, depth: int) -> Any:
    """Inputs as the broken hash sees them: containers two levels down are just a tag."""
    if isinstance(value, dict):
        if depth >= 2:
            return "<dict>"
        return {key: _shallow(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return "<list>" if depth >= 2 else [_shallow(item, depth + 1) for item in value]
    return value


def shallow_hash(original: Callable[..., str]) -> Callable[..., str]:
    """hash_ignores_nested: the cache key ignores everything nested two levels down."""

    def broken_hash(type_string: str, version: int, inputs: dict[str, Any]) -> str:
        return original(type_string, version, {k: _shallow(v, 1) for k, v in inputs.items()})

    return broken_hash


def any_valid_source(original: Callable[..., Any]) -> Callable[..., Any]:
    """excepted_source_hit: any candidate not invalidated may be a source, whatever its state."""

    def any_source(candidates: list[Any], policy: str) -> Any:
        usable = [c for c in candidates if c.cache_valid]
        return min(usable, key=lambda c: c.process_id) if usable else None

    return any_source


class _Unchecked:
    """A store whose claim check before a body (``still_holds``) always passes: the
    duplicate delivery of ``twice_step`` does not ask, or the check would skip it."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def still_holds(self, claimed: ClaimedTask) -> bool:
        return True


def twice_step(original: StepRunner) -> StepRunner:
    """unfenced_duplicate_delivery: every workflow task runs twice (its fence is off too)."""

    def run_step(store: Any, claimed: ClaimedTask, plan: Any, cls: Any) -> None:
        original(store, claimed, plan, cls)
        # the duplicate delivery of the same task, which checks no claim
        original(_Unchecked(store), claimed, plan, cls)

    return run_step


def cached_workflow_step(original: StepRunner) -> StepRunner:
    """cached_workflow: a fresh workflow with caching on is finished from an equal one."""

    def run_step(store: Any, claimed: ClaimedTask, plan: Any, cls: Any) -> None:
        process = claimed.process
        if process.checkpoint is None and store.caching_config().is_enabled(
                process.type, process.label):
            key = calculation_hash(process.type, 1, process.inputs)
            for other in reader(store).list_processes():
                if (other.kind == "workflow" and other.type == process.type
                        and other.state == "finished" and other.id != process.id
                        and calculation_hash(other.type, 1, other.inputs) == key):
                    store.finish_calculation(claimed, dict(other.outputs or {}),
                                             other.exit_status or 0, None,
                                             cached_from=other.id)
                    return
        original(store, claimed, plan, cls)

    return run_step


def swallow_refused_commit(original: Callable[..., None]) -> Callable[..., None]:
    """commit_failure_swallowed: a refused checkpoint commit is logged, then its task is
    acknowledged as if the commit had happened (the engine's rule: give it back)."""

    def acknowledge(store: Any, claimed: ClaimedTask, refused: Any) -> None:
        store.note(claimed.process.id, f"commit_refused:{refused.name}", claimed.owner)
        store.drop_task(claimed)  # the step's progress is lost; nobody runs it again

    return acknowledge


EXECUTOR_BUGS: dict[str, dict[str, Factory]] = {
    "resume_from_scratch": {"_run_step": scratch_step},
    "hash_ignores_nested": {"calculation_hash": shallow_hash},
    "excepted_source_hit": {"choose_source": any_valid_source},
    "unfenced_duplicate_delivery": {"_run_step": twice_step},
    "cached_workflow": {"_run_step": cached_workflow_step},
    "commit_failure_swallowed": {"_commit_refused": swallow_refused_commit},
    **CLAUSE_EXECUTOR_BUGS,  # one variant per clause (broken_reference_clauses)
    **VALUE_EXECUTOR_BUGS,  # one conflating hash per near pair (broken_reference_values)
}
"""Per variant: executor global -> factory of its broken replacement."""


def excepted_hash(process: Any) -> str | None:
    """The hash excepted_source_hit keeps on an excepted process (None for a workflow)."""
    if process.kind != "calculation":
        return None
    calc = resolve(process.type)
    return calculation_hash(process.type, getattr(calc, "version", 1), process.inputs)


# ---------------------------------------------------------------- the SQL store
def _ack_before_commit() -> None:
    """A claim acknowledges the task on delivery: a worker that dies before its commit
    takes the task with it (its lease never expires and the daemon cannot free it)."""
    claim, claim_process = Store.claim, Store.claim_process

    def acknowledge(store: Store, claimed: ClaimedTask | None) -> ClaimedTask | None:
        if claimed is None:
            return None
        acked = f"{claimed.owner}+acked"
        with store.db.begin() as conn:
            conn.execute(update(tasks).where(tasks.c.id == claimed.task_id)
                         .values(lease_owner=acked, lease_expires=FOREVER))
            # The task is now held under the acked name: log it as that name's claim, so
            # the engine's record of claims and commits (C5) stays true to what happened.
            conn.execute(insert(events).values(process_id=claimed.process.id,
                                               state="claimed", worker=acked,
                                               at=store.clock()))
        return replace(claimed, owner=acked)

    def patched_claim(self: Store, owner: str, lease_seconds: float = 60.0) -> Any:
        return acknowledge(self, claim(self, owner, lease_seconds))

    def patched_claim_process(self: Store, pid: int, owner: str,
                              lease_seconds: float = 60.0) -> Any:
        return acknowledge(self, claim_process(self, pid, owner, lease_seconds))

    Store.claim = patched_claim  # type: ignore[method-assign]  # the deliberate bug
    Store.claim_process = patched_claim_process  # type: ignore[method-assign]  # same bug


def _excepted_keeps_hash() -> None:
    """Excepted calculations keep their hash (with ``any_valid_source``: a source)."""
    except_process = Store.except_process

    def patched_except(self: Store, claimed: ClaimedTask, message: str, exception: str,
                       refuse: bool = False) -> bool:
        done = except_process(self, claimed, message, exception, refuse)
        digest = excepted_hash(claimed.process) if done else None
        if digest is not None:
            with self.db.begin() as conn:
                conn.execute(update(processes).where(processes.c.id == claimed.process.id)
                             .values(hash=digest))
        return done

    Store.except_process = patched_except  # type: ignore[method-assign]  # the bug


def _unfenced() -> None:
    """Commits check neither owner nor version: only that the task exists and runs."""

    def fence(self: Store, conn: Any, claimed: ClaimedTask) -> bool:
        task = conn.execute(select(tasks.c.id).where(tasks.c.id == claimed.task_id)).first()
        state = conn.execute(select(processes.c.state)
                             .where(processes.c.id == claimed.process.id)).scalar()
        return task is not None and state == "running"

    Store._fence = fence  # type: ignore[method-assign]  # the deliberate bug


def _fence_ignores_state() -> None:
    """kill_keeps_running_claim (worker side): a commit is fenced by owner and version
    only, so it lands on a process a kill marked killed (the adapter's kill keeps the
    running claim: ``BrokenReferenceAdapter.kill_process``)."""

    def fence(self: Store, conn: Any, claimed: ClaimedTask) -> bool:
        row = conn.execute(FENCE, {"task_id": claimed.task_id, "owner": claimed.owner}).first()
        return row is not None and row[0] == claimed.process.version

    Store._fence = fence  # type: ignore[method-assign]  # the deliberate bug


_PREVIOUS = "wfconform_previous_checkpoint"  # the bug's own table, beside the engine's


def _previous_checkpoint() -> None:
    """resume_from_previous_checkpoint: each workflow commit keeps the checkpoint it
    replaced (in a table of its own); a redelivered task (attempt > 1) is handed that
    older checkpoint. SQLite only (the embedded tier)."""
    take, commit = Store._take, Store.commit_transition

    def patched_take(self: Store, conn: Any, row: Any, owner: str, now: float) -> Any:
        claimed = take(self, conn, row, owner, now)
        if claimed.attempt > 1:
            conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {_PREVIOUS} "
                                 "(process_id INTEGER PRIMARY KEY, checkpoint TEXT)")
            older = conn.exec_driver_sql(f"SELECT checkpoint FROM {_PREVIOUS} WHERE "
                                         "process_id = ?", (claimed.process.id,)).first()
            if older is not None:
                claimed = replace(claimed, process=replace(claimed.process,
                                                           checkpoint=older[0]))
        return claimed

    def patched_commit(self: Store, claimed: ClaimedTask, transition: Any,
                       kinds: dict[str, str], refuse: bool = False) -> bool:
        pid = claimed.process.id
        with self.db.begin() as conn:
            before = conn.execute(select(processes.c.checkpoint)
                                  .where(processes.c.id == pid)).scalar()
        done = commit(self, claimed, transition, kinds, refuse)
        if done:
            with self.db.begin() as conn:
                conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {_PREVIOUS} "
                                     "(process_id INTEGER PRIMARY KEY, checkpoint TEXT)")
                conn.exec_driver_sql(f"INSERT OR REPLACE INTO {_PREVIOUS} VALUES (?, ?)",
                                     (pid, before))
        return done

    Store._take = patched_take  # type: ignore[method-assign]  # the deliberate bug
    Store.commit_transition = patched_commit  # type: ignore[method-assign]  # same bug


STORE_BUGS: dict[str, Callable[[], None]] = {
    "ack_before_commit": _ack_before_commit,
    "excepted_source_hit": _excepted_keeps_hash,
    "unfenced_duplicate_delivery": _unfenced,
    "kill_keeps_running_claim": _fence_ignores_state,
    "resume_from_previous_checkpoint": _previous_checkpoint,
    "stale_commit_after_takeover": _unfenced,  # the same fence, without double delivery
}
"""Per variant: the patch of ``Store`` for this process (embedded and real tiers)."""

ENGINE_PATCHES: frozenset[str] = frozenset(EXECUTOR_BUGS) | frozenset(STORE_BUGS)
"""The engine-side variants (the rest live in the adapter)."""


def apply(name: str) -> None:
    """Apply the named engine bug to this whole process, for good (a worker's life).

    ``KeyError`` names the known variants."""
    if name not in ENGINE_PATCHES:
        raise KeyError(f"{VARIANT_ENV_VAR}={name!r} is not an engine-side variant; known: "
                       f"{', '.join(sorted(ENGINE_PATCHES))}")
    for attr, make in EXECUTOR_BUGS.get(name, {}).items():
        setattr(executor, attr, make(getattr(executor, attr)))
    if name in STORE_BUGS:
        STORE_BUGS[name]()


def _started_as_broken_worker() -> bool:
    """Both variables name this module and a variant: a worker of a broken adapter."""
    preludes = {name.strip() for name in os.environ.get(PRELUDE_ENV_VAR, "").split(",")}
    return bool(os.environ.get(VARIANT_ENV_VAR)) and __name__ in preludes


if _started_as_broken_worker():
    apply(os.environ[VARIANT_ENV_VAR])
