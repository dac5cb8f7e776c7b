"""Named crashpoints: places in the worker loop where an armed fault SIGKILLs the worker.

Inert unless a fault is armed (a row in the database's ``faults`` table). A fault names a
crashpoint, a target (fnmatch over ``Label.step`` for workflow steps, ``Label`` for
calculations and whole processes) and the attempt it fires on (1-based; None = every
attempt). The attempt is the delivery count of the current task, counted durably at
claim time and reset when a checkpoint moves the process on: "attempt 1" fires once per
checkpointed position, so a step inside a loop, or a whole-process target, can fire
again at a later position (the harness counts scenario-wide attempts itself).
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
        for point, target, on_attempt in self.armed:
            if point != crashpoint or (on_attempt is not None and on_attempt != attempt):
                continue
            if any(fnmatch.fnmatchcase(name, target) for name in names):
                if self.on_fire is not None:
                    self.on_fire(crashpoint, names[0])
                self.die()
