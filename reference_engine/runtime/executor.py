"""Execute one claimed task: one workflow step, or one calculation (or its cache hit).

Shared by every runtime that stores state through ``Store``. The order of operations is
the engine's correctness argument: effect, then one atomic commit of checkpoint and task
completion (fenced by the process version), and only then anything else.

A commit the store refuses (``CommitRefusedError``: an armed ``fail_commit`` fault point,
standing for a database that rejects the transaction) is a failed attempt, exactly like a
worker killed before its checkpoint: nothing of the step is durable, so the task goes
back for redelivery (``_commit_refused``) and the next attempt runs the effect again from
the last committed checkpoint. Acknowledging it instead would lose the step for good.
"""

from __future__ import annotations

import os
import traceback

from reference_engine.core.caching import choose_source
from reference_engine.core.checkpoint import Checkpoint
from reference_engine.core.hashing import calculation_hash
from reference_engine.core.interpreter import Transition, advance
from reference_engine.core.limits import check_stored
from reference_engine.core.process import CalcResult, Calculation, WorkChain
from reference_engine.crashpoints import (
    AFTER_CHECKPOINT_BEFORE_ACK,
    AFTER_CLAIM,
    AFTER_EFFECT_BEFORE_CHECKPOINT,
    BEFORE_EFFECT,
    WHILE_WAITING,
    CrashPlan,
)
from reference_engine.errors import CommitRefusedError, EngineError
from reference_engine.loader import check_inputs, kind_of, resolve
from reference_engine.runtime.context import (
    ExecutionContext,
    set_current,
    take_commit_refusal,
)
from reference_engine.runtime.failures import MAX_CLAIMS, describe, is_outage
from reference_engine.storage.records import Armed, ClaimedTask
from reference_engine.storage.store import Store


class _ClaimLost(BaseException):
    """A body was about to begin, but a kill or a newer claim had moved its process on,
    or the check itself failed (``error``: a database outage, re-raised after ``advance``).

    A BaseException so that ``advance``'s handler of user-code errors does not turn it
    into an excepted process: neither a lost claim nor an outage is the step's failure
    (an outage must take the worker's back-off path, as everywhere else)."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__(error)
        self.error = error


def _still_holds(store: Store, claimed: ClaimedTask) -> bool:
    """``store.still_holds(claimed)``; True for a store without it (a test double)."""
    holds = getattr(store, "still_holds", None)
    return holds is None or bool(holds(claimed))


def armed_for(store: Store, claimed: ClaimedTask) -> Armed:
    """The crashpoints armed for this task: as read by its claim, else read now."""
    return claimed.armed if claimed.armed is not None else tuple(store.armed())


def execute(store: Store, claimed: ClaimedTask, plan: CrashPlan) -> None:
    process = claimed.process
    plan.hit(AFTER_CLAIM, (process.label, f"{process.label}.*"), claimed.attempt)
    if process.is_terminal:  # N1: a redelivered task of a terminated process does nothing
        store.drop_task(claimed)
        return
    if claimed.attempt > MAX_CLAIMS:
        store.except_process(claimed, quarantine_message(claimed), "")
        return
    try:
        target = resolve(process.type)
    except EngineError as exc:
        store.except_process(claimed, str(exc), traceback.format_exc())
        return
    try:
        if isinstance(target, Calculation):
            _run_calculation(store, claimed, plan, target)
        else:
            _run_step(store, claimed, plan, target)
    except CommitRefusedError as refused:
        _commit_refused(store, claimed, refused)
    except Exception as exc:  # classified: see runtime/failures.py
        if is_outage(exc):
            raise  # the worker backs off and retries; the task is freed for another
        _except_permanently(store, claimed, exc)
    finally:
        set_current(None)


def quarantine_message(claimed: ClaimedTask) -> str:
    return (f"quarantined: process {claimed.process.id} ({claimed.process.label}) was "
            f"claimed {claimed.attempt - 1} times in a row without a commit (its worker "
            f"died every time, limit {MAX_CLAIMS}); fix the body, then relaunch it")


def _except_permanently(store: Store, claimed: ClaimedTask, exc: Exception) -> None:
    """A failure the same input will repeat (data, encoding, a limit): except once.

    If even that write fails permanently the exception propagates; the claim limit
    (``MAX_CLAIMS``) then ends the loop.
    """
    store.except_process(claimed, f"{describe(exc)} (while storing the result of "
                         f"{claimed.process.label}; the same input fails the same way)",
                         traceback.format_exc())


def _commit_refused(store: Store, claimed: ClaimedTask, refused: CommitRefusedError) -> None:
    """A refused commit wrote nothing: log it, then give the task back for redelivery."""
    store.note(claimed.process.id, f"commit_refused:{refused.name}", claimed.owner)
    store.release_task(claimed)


def _refusal(plan: CrashPlan, names: tuple[str, ...], attempt: int) -> dict[str, bool]:
    """``refuse=True`` for the store's commit when ``fail_commit`` is armed or the body
    asked for it (``request_commit_refusal``), else nothing (so a store without the
    parameter, e.g. a test double, keeps working unarmed)."""
    asked = take_commit_refusal()
    return {"refuse": True} if asked or plan.refuses_commit(names, attempt) else {}


def _context(claimed: ClaimedTask, step: str | None) -> ExecutionContext:
    p = claimed.process
    return ExecutionContext(p.id, p.label, p.type, step, claimed.attempt, os.getpid())


def _run_step(store: Store, claimed: ClaimedTask, plan: CrashPlan, cls: type[WorkChain]) -> None:
    process, attempt = claimed.process, claimed.attempt
    try:
        program = cls.program()
        checkpoint = Checkpoint.from_json(process.checkpoint, process.id, len(program))
        views = store.views(checkpoint.awaiting.values())
    except (EngineError, ValueError) as exc:
        store.except_process(claimed, str(exc), traceback.format_exc())
        return

    def before(step: str) -> None:
        set_current(_context(claimed, step))
        # The step this claim runs is known only once control flow has been evaluated
        # (pure code, nothing written since the claim), so "after_claim" for a
        # ``Label.step`` target fires here; ``execute`` fires it for whole processes.
        plan.hit(AFTER_CLAIM, (f"{process.label}.{step}",), attempt)
        plan.hit(BEFORE_EFFECT, (f"{process.label}.{step}",), attempt)
        try:
            holds = _still_holds(store, claimed)
        except Exception as exc:  # not the step's error: carried out of ``advance``
            raise _ClaimLost(exc) from exc
        if not holds:  # N1: a process killed (or claimed again) since the claim
            raise _ClaimLost

    def after(step: str) -> None:
        plan.hit(AFTER_EFFECT_BEFORE_CHECKPOINT, (f"{process.label}.{step}",), attempt)

    try:
        transition = advance(cls, process.id, process.inputs, checkpoint, views, attempt,
                             before, after)
    except _ClaimLost as lost:
        if lost.error is not None:
            raise lost.error from None  # an outage: ``execute``'s caller backs off
        return  # as a fenced commit: another worker or a kill moved the process on
    kinds, transition = _check_launches(transition)
    names = (f"{process.label}.{transition.step}",)
    if not store.commit_transition(claimed, transition, kinds,
                                   **_refusal(plan, names, attempt)):
        return  # fenced: another worker or a kill moved the process on; do nothing more
    plan.hit(AFTER_CHECKPOINT_BEFORE_ACK, names, attempt)
    if transition.outcome == "wait":
        plan.hit(WHILE_WAITING, names, attempt)


def _check_launches(transition: Transition) -> tuple[dict[str, str], Transition]:
    """Resolve each child's kind and inputs now: a bad launch excepts the parent."""
    kinds: dict[str, str] = {}
    try:
        for req in transition.launches:
            kinds[req.key] = kind_of(req.type_string)
            problems = check_inputs(req.type_string, req.inputs)
            if problems:
                raise EngineError(
                    f"step {transition.step!r} launched {req.type_string} with invalid "
                    f"inputs: {'; '.join(problems)}"
                )
    except EngineError as exc:
        return {}, Transition("excepted", transition.checkpoint, transition.step,
                              exception=traceback.format_exc(), message=str(exc))
    return kinds, transition


def _run_calculation(
    store: Store, claimed: ClaimedTask, plan: CrashPlan, calc: Calculation
) -> None:
    process, attempt = claimed.process, claimed.attempt
    names = (process.label,)
    calc_hash = calculation_hash(process.type, calc.version, process.inputs)
    config = store.caching_config()
    if calc.cacheable and config.is_enabled(process.type, process.label):
        source = choose_source(store.cache_candidates(calc_hash, process.id),
                               config.failed_source_policy)
        if source is not None:
            if store.finish_calculation(
                claimed, dict(source.outputs), source.exit_status or 0, calc_hash,
                source.exit_invalidates_cache, cached_from=source.process_id,
            ):
                plan.hit(AFTER_CHECKPOINT_BEFORE_ACK, names, attempt)
            return
    set_current(_context(claimed, None))
    plan.hit(BEFORE_EFFECT, names, attempt)
    if not _still_holds(store, claimed):  # N1: killed since the claim (the cache lookup
        return  # took 56 ms under load); as a fenced commit, run nothing
    try:
        result = calc.run(dict(process.inputs))
        if not isinstance(result, CalcResult):
            if not isinstance(result, dict):
                raise TypeError(
                    f"{process.type} returned {type(result).__name__}; a calculation must "
                    "return a dict of outputs or a CalcResult"
                )
            result = CalcResult(result)
        check_stored(result.outputs, f"outputs of calculation {process.label}")
    except Exception as exc:
        store.except_process(claimed, f"{type(exc).__name__}: {exc}", traceback.format_exc(),
                             **_refusal(plan, names, attempt))
        return
    plan.hit(AFTER_EFFECT_BEFORE_CHECKPOINT, names, attempt)
    invalidates = result.exit_status in calc.invalidating_exit_codes
    stored_hash = calc_hash if calc.cacheable else None
    if store.finish_calculation(claimed, result.outputs, result.exit_status, stored_hash,
                                invalidates, message=result.message,
                                **_refusal(plan, names, attempt)):
        plan.hit(AFTER_CHECKPOINT_BEFORE_ACK, names, attempt)
