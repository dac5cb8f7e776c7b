"""Engine-side bugs of the ``broken_reference`` variants, applied inside worker processes.

Why a module imported by the workers: the reference engine runs step and calculation
bodies in worker OS processes, so a bug in how it resumes, acknowledges, hashes or
fences must live there. The variant adapter names this module in the engine's documented
hook ``$REFERENCE_ENGINE_WORKER_PRELUDE`` and the variant in ``$WFCONFORM_BROKEN_VARIANT``;
each worker imports this module before its loop, which patches the engine (module
globals of the executor and methods of ``Store``) for the rest of that process.

Never imported by the harness process itself, and a no-op when the variable is unset.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update

from reference_engine.core.hashing import calculation_hash
from reference_engine.loader import resolve
from reference_engine.runtime import executor
from reference_engine.storage.records import ClaimedTask
from reference_engine.storage.schema import processes, tasks
from reference_engine.storage.store import Store

__all__ = ["ENGINE_PATCHES", "VARIANT_ENV_VAR", "apply"]

VARIANT_ENV_VAR = "WFCONFORM_BROKEN_VARIANT"
FOREVER = 1e18
"""A lease expiry that never comes (seconds since the epoch)."""


def resume_from_scratch() -> None:
    """A redelivered workflow task ignores the checkpoint and starts at step one."""
    original = executor._run_step

    def run_step(store: Store, claimed: ClaimedTask, plan: Any, cls: Any) -> None:
        if claimed.attempt > 1 and claimed.process.checkpoint is not None:
            claimed = replace(claimed, process=replace(claimed.process, checkpoint=None))
        original(store, claimed, plan, cls)

    executor._run_step = run_step


def ack_before_commit() -> None:
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
        return replace(claimed, owner=acked)

    def patched_claim(self: Store, owner: str, lease_seconds: float = 60.0) -> Any:
        return acknowledge(self, claim(self, owner, lease_seconds))

    def patched_claim_process(self: Store, pid: int, owner: str,
                              lease_seconds: float = 60.0) -> Any:
        return acknowledge(self, claim_process(self, pid, owner, lease_seconds))

    Store.claim = patched_claim  # type: ignore[method-assign]  # the deliberate bug
    Store.claim_process = patched_claim_process  # type: ignore[method-assign]  # same bug


def _shallow(value: Any, depth: int) -> Any:
    """Inputs as the broken hash sees them: containers two levels down are just a tag."""
    if isinstance(value, dict):
        if depth >= 2:
            return "<dict>"
        return {key: _shallow(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return "<list>" if depth >= 2 else [_shallow(item, depth + 1) for item in value]
    return value


def hash_ignores_nested() -> None:
    """The cache key ignores everything nested two levels inside an input value."""
    original = executor.calculation_hash  # type: ignore[attr-defined]  # patched on purpose

    def broken_hash(type_string: str, version: int, inputs: dict[str, Any]) -> str:
        return original(type_string, version, {k: _shallow(v, 1) for k, v in inputs.items()})

    executor.calculation_hash = broken_hash  # type: ignore[attr-defined]  # the deliberate bug


def excepted_source_hit() -> None:
    """Excepted calculations keep their hash, and any valid candidate may be a source."""
    except_process = Store.except_process

    def patched_except(self: Store, claimed: ClaimedTask, message: str, exception: str) -> bool:
        done = except_process(self, claimed, message, exception)
        process = claimed.process
        if done and process.kind == "calculation":
            calc = resolve(process.type)
            digest = calculation_hash(process.type, getattr(calc, "version", 1),
                                      process.inputs)
            with self.db.begin() as conn:
                conn.execute(update(processes).where(processes.c.id == process.id)
                             .values(hash=digest))
        return done

    def any_source(candidates: list[Any], policy: str) -> Any:
        usable = [c for c in candidates if c.cache_valid]
        return min(usable, key=lambda c: c.process_id) if usable else None

    Store.except_process = patched_except  # type: ignore[method-assign]  # the bug
    executor.choose_source = any_source  # type: ignore[attr-defined]  # the deliberate bug


def unfenced_duplicate_delivery() -> None:
    """Every workflow task is delivered twice, and commits check neither owner nor version."""
    original = executor._run_step

    def fence(self: Store, conn: Any, claimed: ClaimedTask) -> bool:
        task = conn.execute(select(tasks.c.id).where(tasks.c.id == claimed.task_id)).first()
        state = conn.execute(select(processes.c.state)
                             .where(processes.c.id == claimed.process.id)).scalar()
        return task is not None and state == "running"

    def run_step(store: Store, claimed: ClaimedTask, plan: Any, cls: Any) -> None:
        original(store, claimed, plan, cls)
        original(store, claimed, plan, cls)  # the duplicate delivery of the same task

    Store._fence = fence  # type: ignore[method-assign]  # the deliberate bug
    executor._run_step = run_step


def cached_workflow() -> None:
    """A fresh workflow with caching on is finished from an equal finished workflow."""
    original = executor._run_step

    def run_step(store: Store, claimed: ClaimedTask, plan: Any, cls: Any) -> None:
        process = claimed.process
        if process.checkpoint is None and store.caching_config().is_enabled(
                process.type, process.label):
            key = calculation_hash(process.type, 1, process.inputs)
            for other in store.list_processes():
                if (other.kind == "workflow" and other.type == process.type
                        and other.state == "finished" and other.id != process.id
                        and calculation_hash(other.type, 1, other.inputs) == key):
                    store.finish_calculation(claimed, dict(other.outputs or {}),
                                             other.exit_status or 0, None,
                                             cached_from=other.id)
                    return
        original(store, claimed, plan, cls)

    executor._run_step = run_step


ENGINE_PATCHES: dict[str, Callable[[], None]] = {
    "resume_from_scratch": resume_from_scratch,
    "ack_before_commit": ack_before_commit,
    "hash_ignores_nested": hash_ignores_nested,
    "excepted_source_hit": excepted_source_hit,
    "unfenced_duplicate_delivery": unfenced_duplicate_delivery,
    "cached_workflow": cached_workflow,
}


def apply(name: str) -> None:
    """Apply the named engine bug to this process; ``KeyError`` names the known ones."""
    if name not in ENGINE_PATCHES:
        raise KeyError(f"{VARIANT_ENV_VAR}={name!r} is not an engine-side variant; known: "
                       f"{', '.join(sorted(ENGINE_PATCHES))}")
    ENGINE_PATCHES[name]()


if os.environ.get(VARIANT_ENV_VAR):
    apply(os.environ[VARIANT_ENV_VAR])
