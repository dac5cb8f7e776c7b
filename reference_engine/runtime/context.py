"""What is running right now, for user code that needs it (journals, logs).

Step and calculation bodies can call ``current_execution()`` to learn their process id,
step, attempt and worker pid without these leaking into their inputs (and cache hash).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class ExecutionContext:
    process_id: int
    label: str
    type: str
    step: str | None
    attempt: int
    worker_pid: int


_current: contextvars.ContextVar[ExecutionContext | None] = contextvars.ContextVar(
    "reference_engine_execution", default=None
)


_refusal: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "reference_engine_refuse_commit", default=False
)


def current_execution() -> ExecutionContext | None:
    """The execution in progress in this worker, or None outside a body."""
    return _current.get()


def set_current(context: ExecutionContext | None) -> None:
    _current.set(context)
    _refusal.set(False)  # a refusal request belongs to the execution that made it


def request_commit_refusal() -> None:
    """Fault injection from a body: refuse the commit that follows this execution.

    Exactly as an armed ``fail_commit`` fault point (the database rejects the transaction:
    nothing is durable and the task is redelivered), but for this one execution only,
    which a harness that numbers attempts itself can name exactly; a fault point armed
    by target is read at claim time and would also hit a sibling claimed meanwhile.
    """
    _refusal.set(True)


def take_commit_refusal() -> bool:
    """Whether this execution's body asked for its commit to be refused (then cleared)."""
    asked = _refusal.get()
    _refusal.set(False)
    return asked
