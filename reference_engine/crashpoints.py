"""Named crashpoints: places in the worker loop where an armed fault SIGKILLs the worker.

Inert unless a fault is armed (a row in the database's ``faults`` table). A fault names a
crashpoint, a target (fnmatch over ``Label.step`` for workflow steps, ``Label`` for
calculations and whole processes) and the attempt it fires on (1-based; None = every
attempt). The attempt is the delivery count of the current task, counted durably at
claim time and reset when a checkpoint moves the process on: "attempt 1" fires once per
checkpointed position, so a step inside a loop, or a whole-process target, can fire
again at a later position (the harness counts scenario-wide attempts itself).

Fault points are armed and matched the same way but do not kill: ``fail_commit`` makes
the store refuse the transaction that commits the step's or calculation's checkpoint
(state, checkpoint, children and task completion roll back together, as when the
database rejects a COMMIT). The executor then treats the attempt as failed: it frees the
task, which is redelivered and runs the effect again from the last committed checkpoint.
"""

from __future__ import annotations

import fnmatch
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass

AFTER_CLAIM = "after_claim"
BEFORE_EFFECT = "before_effect"
AFTER_EFFECT_BEFORE_CHECKPOINT = "after_effect_before_checkpoint"
AFTER_CHECKPOINT_BEFORE_ACK = "after_checkpoint_before_ack"
WHILE_WAITING = "while_waiting"
CRASHPOINTS: tuple[str, ...] = (
    AFTER_CLAIM,
    BEFORE_EFFECT,
    AFTER_EFFECT_BEFORE_CHECKPOINT,
    AFTER_CHECKPOINT_BEFORE_ACK,
    WHILE_WAITING,
)
FAIL_COMMIT = "fail_commit"
FAULT_POINTS: tuple[str, ...] = (FAIL_COMMIT,)
"""Armed like crashpoints, but the worker lives: the commit after the effect is refused."""
ARMABLE: tuple[str, ...] = CRASHPOINTS + FAULT_POINTS


def sigkill_self() -> None:
    """Die exactly here, as a power cut or OOM kill would: no cleanup, no flush."""
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class CrashPlan:
    """The armed faults a worker loaded with its task, and what to do when one matches."""

    armed: tuple[tuple[str, str, int | None], ...] = ()
    on_fire: Callable[[str, str], None] | None = None  # records the fault, then returns
    die: Callable[[], None] = sigkill_self

    def hit(self, crashpoint: str, names: Sequence[str], attempt: int) -> None:
        if self.matches(crashpoint, names, attempt):
            if self.on_fire is not None:
                self.on_fire(crashpoint, names[0])
            self.die()

    def matches(self, point: str, names: Sequence[str], attempt: int) -> bool:
        """Whether a fault is armed at ``point`` for one of ``names`` on ``attempt``."""
        for armed_point, target, on_attempt in self.armed:
            if armed_point != point or (on_attempt is not None and on_attempt != attempt):
                continue
            if any(fnmatch.fnmatchcase(name, target) for name in names):
                return True
        return False

    def refuses_commit(self, names: Sequence[str], attempt: int) -> bool:
        """Whether the commit after this attempt's effect must fail (``fail_commit``)."""
        return bool(self.armed) and self.matches(FAIL_COMMIT, names, attempt)
